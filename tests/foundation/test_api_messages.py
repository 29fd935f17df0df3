"""The portal's own API errors follow the user's language like DRF's: every Vietnamese literal
raised as an API error goes through gettext (English in locale/en.json)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings

from agencies.models import User
from indicators.models import Framework
from tests.factories import FrameworkFactory, UserFactory

VIETNAMESE = re.compile(r"[ăâđêôơưạ-ỹ]", re.IGNORECASE)
# Calls whose string argument reaches an API client or the admin as text.
USER_FACING = {"NotFound", "NotAllowed", "ValidationError", "PermissionDenied", "Response"}
GETTEXT = {"_", "gettext", "gettext_lazy", "ngettext", "pgettext", "format_lazy"}


def _untranslated(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []

    def visit(node: ast.AST, wrapped: bool) -> None:
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
            wrapped = wrapped or name in GETTEXT
            if name in USER_FACING and not wrapped:
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    for leaf in ast.walk(arg):
                        if not isinstance(leaf, ast.Constant) or not isinstance(leaf.value, str):
                            continue
                        if VIETNAMESE.search(leaf.value) and not _inside_gettext(arg, leaf):
                            found.append(f"{path}:{leaf.lineno}: {leaf.value[:60]}")
        for child in ast.iter_child_nodes(node):
            visit(child, wrapped)

    visit(tree, False)
    return found


def _inside_gettext(root: ast.AST, leaf: ast.AST) -> bool:
    for node in ast.walk(root):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
            if name in GETTEXT and any(n is leaf for n in ast.walk(node)):
                return True
    return False


def test_api_errors_and_app_names_are_translatable() -> None:
    base = Path(settings.BASE_DIR)
    offenders: list[str] = []
    for app in ("agencies", "indicators", "evidence", "scoring", "dti_portal"):
        for path in sorted((base / app).rglob("*.py")):
            if "migrations" in path.parts or "management" in path.parts:
                continue
            offenders += _untranslated(path)
    assert offenders == []
    from django.apps import apps

    for config in apps.get_app_configs():
        if config.name in {"agencies", "indicators", "evidence", "scoring"}:
            assert not isinstance(config.verbose_name, str), config.name  # a lazy translation


@pytest.mark.django_db
def test_wrong_password_on_token_login_follows_the_language(client) -> None:
    user = UserFactory(password="pw-12345678")
    body = {"username": user.username, "password": "wrong-password"}
    r = client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert (r.status_code, r.json()["detail"]) == (400, "Tên đăng nhập hoặc mật khẩu không đúng.")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    r = client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert (r.status_code, r.json()["detail"]) == (400, "Wrong username or password.")


@pytest.mark.django_db
def test_scores_field_error_follows_the_language(client) -> None:
    client.force_login(UserFactory(role=User.Role.LEADER, agency=None))
    framework = FrameworkFactory()
    Framework.objects.filter(pk=framework.pk).update(status=Framework.Status.PUBLISHED)
    url = f"/api/v1/scores/league/?framework={framework.code}&kind=bogus"
    r = client.get(url)
    assert (r.status_code, r.json()) == (400, {"kind": ["Loại điểm không hợp lệ."]})
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    r = client.get(url)
    assert (r.status_code, r.json()) == (400, {"kind": ["Invalid score type."]})
