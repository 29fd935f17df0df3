"""Authorization matrix (AC1–AC9): every route × persona × state against authz_matrix.MATRIX.

A route that is not declared fails the build (deny by default). For each declared route and
method, each persona's request runs in a savepoint that is rolled back, so writes do not leak
into the next check. Figures go to tests/artifacts/security-figures.json for SECURITY.md.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from agencies.models import Agency, User
from evidence.models import EvidenceFile, Notification, ReportingPeriod, Submission
from indicators.models import Framework, Indicator, Measure
from tests.factories import AgencyFactory, UserFactory
from tests.security.authz_matrix import MATRIX, ROLES, A, D, H, N, Rule
from tests.security.figures import record

ADMIN_PREFIX = "admin:"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def is_admin_route(key: str, pattern: str) -> bool:
    """The Django admin site: covered by test_admin_site_only_for_admins."""
    return key.startswith(ADMIN_PREFIX) or pattern.startswith("admin/")


def all_routes() -> dict[str, str]:
    """{route key: pattern} for every URL pattern; key = "namespace:name" or the pattern."""
    out: dict[str, str] = {}

    def walk(patterns, prefix: str, ns: list[str]) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(
                    p.url_patterns,
                    prefix + str(p.pattern),
                    ns + ([p.namespace] if p.namespace else []),
                )
            elif isinstance(p, URLPattern):
                pattern = prefix + str(p.pattern)
                if "(?P<format>" in pattern:
                    continue  # DRF format-suffix twin of a declared route
                key = ":".join(ns + [p.name]) if p.name else pattern
                out.setdefault(key, pattern)

    walk(get_resolver().url_patterns, "", [])
    return out


def test_every_route_is_declared():
    routes = all_routes()
    missing = sorted(k for k in routes if k not in MATRIX and not is_admin_route(k, routes[k]))
    assert not missing, (
        "routes without an authorization rule in tests/security/authz_matrix.py:\n"
        + "\n".join(f"  {k}: {routes[k]}" for k in missing)
    )


@dataclass
class World:
    agency_a: Agency
    agency_b: Agency
    users: dict[str, User | None]
    framework: Framework
    main: Indicator
    sub: Indicator
    period: ReportingPeriod
    submission: Submission
    evidence: EvidenceFile
    notification: Notification
    extra: dict[str, Any]

    @property
    def pdf(self) -> bytes:
        return PDF

    def obj(self, name: str) -> Any:
        if name in self.extra:
            value = self.extra[name]
            return value(self) if callable(value) else value
        return getattr(self, name)


@pytest.fixture
def world(db) -> World:
    a = AgencyFactory(code="so-a", name="Sở Thử nghiệm A")
    b = AgencyFactory(code="so-b", name="Sở Thử nghiệm B")
    khcn = AgencyFactory(code="so-khcn", name="Sở Khoa học và Công nghệ")
    users: dict[str, User | None] = {
        "anon": None,
        "own": UserFactory(username="staff_a", agency=a, role=User.Role.AGENCY_STAFF),
        "other": UserFactory(username="staff_b", agency=b, role=User.Role.AGENCY_STAFF),
        "reviewer": UserFactory(username="reviewer", agency=khcn, role=User.Role.REVIEWER),
        "leader": UserFactory(username="leader", agency=None, role=User.Role.LEADER),
        "council": UserFactory(username="council", agency=None, role=User.Role.COUNCIL),
        "admin": UserFactory(
            username="admin", agency=None, role=User.Role.ADMIN, is_staff=True, is_superuser=True
        ),
    }
    fw = Framework.objects.create(
        code="fw-authz",
        name="Bộ chỉ số thử",
        year=2025,
        total_points=Decimal("10"),
        status="published",
    )
    main = Indicator.objects.create(
        framework=fw, level="main", code="1", name="Chính", max_points=Decimal("10")
    )
    sub = Indicator.objects.create(
        framework=fw,
        level="sub",
        code="1.1",
        name="Có ban hành kế hoạch",
        parent=main,
        max_points=Decimal("10"),
        lead_agency=a,
        scoring_rule={"type": "yes_no", "measure": "done"},
    )
    Measure.objects.create(indicator=sub, code="done", label="Đã ban hành", kind="boolean")
    period = ReportingPeriod.objects.create(
        framework=fw,
        year=2025,
        quarter=4,
        deadline=datetime.date.today() + datetime.timedelta(days=30),
    )
    submission = Submission.objects.create(
        indicator=sub,
        agency=a,
        period=period,
        values={"done": "1"},
        is_consolidation=True,
        self_points=Decimal("10"),
        created_by=users["own"],
    )
    ev = EvidenceFile(
        submission=submission,
        kind="file",
        original_name="ke-hoach.pdf",
        size=len(PDF),
        sha256=hashlib.sha256(PDF).hexdigest(),
        mime_type="application/pdf",
        uploaded_by=users["own"],
    )
    ev.file.save("x.pdf", ContentFile(PDF), save=False)
    ev.save()
    note = Notification.objects.create(
        recipient=users["own"], kind="test", message="Thông báo", submission=submission
    )
    from scoring.exports.models import ExportJob

    job = ExportJob(
        kind=ExportJob.Kind.values[0],
        framework=fw,
        period=period,
        requested_by=users["leader"],
        state=ExportJob.State.DONE,
        file_name="bang-diem.xlsx",
        size=4,
    )
    job.file.save("bang-diem.xlsx", ContentFile(b"PK\x03\x04"), save=False)
    job.save()
    from scoring.models import NationalResult

    NationalResult.objects.create(
        framework=fw,
        year=2025,
        province="Khánh Hòa",
        main_values={"1": "0.5"},
        dti=Decimal("0.5"),
        rank=1,
    )
    prev = ReportingPeriod.objects.create(
        framework=fw,
        year=2025,
        quarter=3,
        deadline=datetime.date.today() - datetime.timedelta(days=60),
    )
    prev_sub = Submission.objects.create(
        indicator=sub,
        agency=a,
        period=prev,
        values={"done": "1"},
        is_consolidation=True,
        state="approved",
    )
    old = b"%PDF-1.4 earlier quarter\n%%EOF\n"
    prev_ev = EvidenceFile(
        submission=prev_sub,
        kind="file",
        original_name="quy-3.pdf",
        size=len(old),
        sha256=hashlib.sha256(old).hexdigest(),
        mime_type="application/pdf",
        uploaded_by=users["own"],
    )
    prev_ev.file.save("q3.pdf", ContentFile(old), save=False)
    prev_ev.save()
    draft_fw = Framework.objects.create(
        code="fw-draft", name="Bộ chỉ số nháp", year=2026, total_points=Decimal("10")
    )
    draft_main = Indicator.objects.create(
        framework=draft_fw, level="main", code="1", name="Chính", max_points=Decimal("10")
    )
    draft_sub = Indicator.objects.create(
        framework=draft_fw,
        level="sub",
        code="1.1",
        name="Chỉ số nháp",
        parent=draft_main,
        max_points=Decimal("10"),
        scoring_rule={"type": "yes_no", "measure": "done"},
    )
    Measure.objects.create(indicator=draft_sub, code="done", label="Đã ban hành", kind="boolean")
    c = AgencyFactory(code="so-c", name="Sở Thử nghiệm C (phối hợp)")
    sub.coordinating_agencies.add(c)
    contribution = Submission.objects.create(
        indicator=sub, agency=c, period=period, values={"done": "1"}, state="submitted_to_lead"
    )
    return World(
        a,
        b,
        users,
        fw,
        main,
        sub,
        period,
        submission,
        ev,
        note,
        extra={
            "export_job": job,
            "prev_evidence": prev_ev,
            "draft_framework": draft_fw,
            "draft_sub": draft_sub,
            "contribution": contribution,
        },
    )


def db_fingerprint() -> tuple:
    """Everything a request of the matrix could write, small enough to compare whole."""
    from agencies.models import AuditEvent
    from evidence.models import ItemExtension, SubmissionTransition
    from scoring.exports.models import ExportJob

    return (
        list(
            Submission.objects.order_by("id").values_list(
                "id", "state", "version", "values", "note"
            )
        ),
        list(EvidenceFile.objects.order_by("id").values_list("id")),
        SubmissionTransition.objects.count(),
        list(Notification.objects.order_by("id").values_list("id", "read_at")),
        list(ReportingPeriod.objects.order_by("id").values_list("id", "status", "deadline")),
        AuditEvent.objects.count(),
        ExportJob.objects.count(),
        ItemExtension.objects.count(),
        list(
            User.objects.order_by("id").values_list(
                "id", "email_notifications", "role", "agency_id"
            )
        ),
        list(Framework.objects.order_by("id").values_list("id", "status")),
        Indicator.objects.count(),
    )


R = "R"  # refused on content or state (400/409, a form shown again): neither allow nor deny


def classify(resp, rule: Rule, method: str, changed: bool, api: bool) -> str:
    status = resp.status_code
    redirect = status in (301, 302, 303, 307, 308)
    to_login = redirect and bool(
        re.search(r"/accounts/login/|/admin/login/", resp.get("Location", ""))
    )
    if method == "GET":
        if redirect:
            return D if to_login else A
        if status < 300:
            return A
        return R if status in (400, 409, 422) else D
    if changed:
        return A
    if redirect:
        return A if rule.redirect_ok and not to_login else D
    if api and status < 300:
        return A
    if status < 300 or status in (400, 409, 422):
        return R
    return D


def expected_for(exp, state: str) -> str:
    if isinstance(exp, dict):
        return exp.get(state, exp.get("*", D))
    return exp


def _set_state(w: World, state: str) -> None:
    now = datetime.datetime.now(tz=datetime.UTC)
    Submission.objects.filter(pk=w.submission.pk).update(
        state=state,
        submitted_at=None if state == "draft" else now,
        appraised_points=Decimal("10") if state == "approved" else None,
    )
    w.submission = Submission.objects.get(pk=w.submission.pk)


def _url(key: str, rule: Rule, w: World) -> str:
    kwargs = rule.kw(w) if callable(rule.kw) else {k: w.obj(v).pk for k, v in rule.kw.items()}
    url = reverse(key, kwargs=kwargs) if kwargs else reverse(key)
    return url + (rule.query(w) if rule.query else "")


def run_matrix(routes: dict[str, str], w: World) -> dict[str, Any]:
    checks, unexpected_allow, unexpected_deny, leaks, server_errors = 0, [], [], [], []
    for key in sorted(routes):
        if is_admin_route(key, routes[key]) or key not in MATRIX:
            continue
        rule = MATRIX[key]
        for state in rule.states:
            for method, per_role in rule.methods.items():
                for role in ROLES:
                    exp = expected_for(per_role[role], state)
                    sid = transaction.savepoint()
                    try:
                        _set_state(w, state)
                        before = db_fingerprint() if method != "GET" else None
                        url = _url(key, rule, w)
                        data = rule.data.get(method, lambda _w: {})(w)
                        client = Client(raise_request_exception=False)
                        if w.users[role] is not None:
                            client.force_login(w.users[role])
                        if method == "GET":
                            resp = client.get(url)
                        elif rule.multipart or not url.startswith("/api/"):
                            resp = (
                                client.generic(
                                    method,
                                    url,
                                    data=_encode_form(data),
                                    content_type="application/x-www-form-urlencoded",
                                )
                                if method != "POST"
                                else client.post(url, data)
                            )
                        else:
                            resp = client.generic(
                                method, url, data=_json(data), content_type="application/json"
                            )
                        changed = method != "GET" and db_fingerprint() != before
                    finally:
                        transaction.savepoint_rollback(sid)
                    checks += 1
                    got = classify(resp, rule, method, changed, url.startswith("/api/"))
                    where = f"{method} {key} [{state}] as {role}: {resp.status_code}"
                    if resp.status_code >= 500:
                        server_errors.append(where)
                        continue
                    if exp in (D, H, N) and got == A:
                        unexpected_allow.append(where)
                    elif exp == A and got == D:
                        unexpected_deny.append(where)
                    elif exp == H and resp.status_code != 404 and got != A:
                        leaks.append(where + " (expected 404: existence leak)")
    return {
        "checks": checks,
        "unexpected_allow": unexpected_allow,
        "unexpected_deny": unexpected_deny,
        "existence_leaks": leaks,
        "server_errors": server_errors,
    }


def _json(data: dict) -> str:
    import json

    return json.dumps(data)


def _encode_form(data: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(data)


@pytest.mark.django_db
def test_authorization_matrix(world):
    routes = all_routes()
    result = run_matrix(routes, world)
    declared = [k for k in routes if k in MATRIX]
    admin_routes = [k for k in routes if is_admin_route(k, routes[k])]
    record(
        "authz_matrix",
        routes=len(declared),
        admin_routes=len(admin_routes),
        roles=len(ROLES),
        checks=result["checks"],
        unexpected_allows=len(result["unexpected_allow"]),
        unexpected_denies=len(result["unexpected_deny"]),
        existence_leaks=len(result["existence_leaks"]),
        server_errors=len(result["server_errors"]),
    )
    problems = (
        result["unexpected_allow"]
        + result["existence_leaks"]
        + result["server_errors"]
        + result["unexpected_deny"]
    )
    assert not problems, (
        f"{len(problems)} of {result['checks']} checks differ from the matrix:\n"
        + "\n".join(problems)
    )


@pytest.mark.django_db
def test_admin_site_only_for_admins(world):
    """Every /admin/ page: the admin site is for administrators (is_staff) only."""
    checked = 0
    for role, user in world.users.items():
        c = Client()
        if user is not None:
            c.force_login(user)
        for path in (
            "/admin/",
            "/admin/agencies/user/",
            "/admin/evidence/submission/",
            "/admin/axes/accessattempt/",
        ):
            resp = c.get(path)
            checked += 1
            if role == "admin":
                assert resp.status_code in (200, 404), (path, resp.status_code)
            else:
                assert resp.status_code == 302, (role, path, resp.status_code)
                assert re.search(r"/admin/login/|/accounts/login/", resp["Location"]), (role, path)
    record("admin_site", checks=checked)
