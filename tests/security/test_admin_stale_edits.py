"""Two administrators on the same change form: the second save, made on a page older than the
row, is refused in words instead of silently undoing the first one's change."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from agencies.models import Agency, User
from tests.factories import AgencyFactory, UserFactory

pytestmark = pytest.mark.django_db

STALE = "đã được người khác sửa"


class _FormFields(HTMLParser):
    """The data a browser would post from the page's main form (checked boxes, selected
    options, text areas; no submit buttons)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def _add(self, name: str, value: str) -> None:
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self._add(name, a.get("value", "on" if a.get("type") == "checkbox" else ""))
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self._add(self._select, a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self._add(name, "")

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _page_data(client, url: str) -> dict[str, list[str]]:
    parser = _FormFields()
    parser.feed(client.get(url).content.decode())
    data = {k: v for k, v in parser.data.items() if k not in ("csrfmiddlewaretoken", "q")}
    data.pop("action", None)  # the changelist's actions bar
    return data


@pytest.fixture
def two_admins(admin_user):
    other = UserFactory(
        username="admin2", agency=None, role=User.Role.ADMIN, is_staff=True, is_superuser=True
    )
    return admin_user, other


def test_a_stale_account_form_is_refused(two_admins, client_as):
    first, second = (client_as(u) for u in two_admins)
    account = UserFactory(username="canbo", role=User.Role.AGENCY_STAFF)
    url = reverse("admin:agencies_user_change", args=[account.pk])
    page_1, page_2 = _page_data(first, url), _page_data(second, url)
    assert first.post(url, {**page_1, "role": [User.Role.REVIEWER]}).status_code == 302
    resp = second.post(url, {**page_2, "full_name": ["Tên sửa sau"]})
    assert resp.status_code == 200 and STALE in resp.content.decode()
    account.refresh_from_db()
    assert account.role == User.Role.REVIEWER and account.full_name != "Tên sửa sau"
    # Reloaded, the same change goes through.
    page_3 = _page_data(second, url)
    assert second.post(url, {**page_3, "full_name": ["Tên sửa sau"]}).status_code == 302
    account.refresh_from_db()
    assert account.role == User.Role.REVIEWER and account.full_name == "Tên sửa sau"


def test_the_account_signing_in_does_not_make_the_form_stale(admin_user, client_as):
    client = client_as(admin_user)
    account = UserFactory(username="canbo", role=User.Role.AGENCY_STAFF)
    url = reverse("admin:agencies_user_change", args=[account.pk])
    page = _page_data(client, url)
    client_as(account)  # signs in: last_login changes
    assert client.post(url, {**page, "full_name": ["Tên mới"]}).status_code == 302


def test_a_stale_agency_form_is_refused(two_admins, client_as):
    first, second = (client_as(u) for u in two_admins)
    agency = AgencyFactory(code="so-a", name="Sở A")
    url = reverse("admin:agencies_agency_change", args=[agency.pk])
    page_1, page_2 = _page_data(first, url), _page_data(second, url)
    assert first.post(url, {**page_1, "short_name": ["SA"]}).status_code == 302
    resp = second.post(url, {**page_2, "is_active": []})
    assert resp.status_code == 200 and STALE in resp.content.decode()
    agency = Agency.objects.get(pk=agency.pk)
    assert agency.short_name == "SA" and agency.is_active


def test_admin_rights_given_on_the_account_form_are_audited(admin_user, client_as):
    """Staff status, superuser status, groups and permissions open the admin to an account:
    like a role change, each change is an audit entry (before → after)."""
    from django.contrib.auth.models import Group, Permission

    from agencies.models import AuditEvent

    client = client_as(admin_user)
    group = Group.objects.create(name="Quản trị danh mục")
    perm = Permission.objects.get(codename="change_agency")
    account = UserFactory(username="canbo", role=User.Role.AGENCY_STAFF)
    url = reverse("admin:agencies_user_change", args=[account.pk])
    page = _page_data(client, url)
    resp = client.post(
        url,
        {
            **page,
            "is_staff": ["on"],
            "groups": [str(group.pk)],
            "user_permissions": [str(perm.pk)],
        },
    )
    assert resp.status_code == 302
    event = AuditEvent.objects.get(action="user.privileges_change")
    assert event.actor == admin_user and event.object_id == str(account.pk)
    assert event.data == {
        "is_staff": {"from": False, "to": True},
        "groups": {"from": [], "to": ["Quản trị danh mục"]},
        "user_permissions": {"from": [], "to": ["agencies.change_agency"]},
    }
    # A save that changes none of them writes no such entry.
    client.post(url, {**_page_data(client, url), "full_name": ["Tên khác"]})
    assert AuditEvent.objects.filter(action="user.privileges_change").count() == 1


def test_a_groups_permissions_changed_in_the_admin_are_audited(admin_user, client_as):
    """A group's permissions open the admin to every member: as for one account, a change is
    an audit entry, and so is deleting the group."""
    from django.contrib.auth.models import Group, Permission

    from agencies.models import AuditEvent

    client = client_as(admin_user)
    group = Group.objects.create(name="Quản trị danh mục")
    perm = Permission.objects.get(codename="change_agency")
    url = reverse("admin:auth_group_change", args=[group.pk])
    page = _page_data(client, url)
    assert client.post(url, {**page, "permissions": [str(perm.pk)]}).status_code == 302
    event = AuditEvent.objects.get(action="group.update")
    assert event.actor == admin_user and event.object_repr == "Quản trị danh mục"
    assert event.data == {"permissions": {"from": [], "to": ["agencies.change_agency"]}}
    client.post(reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"})
    assert not Group.objects.exists()
    deleted = AuditEvent.objects.get(action="group.delete")
    assert deleted.data == {"name": "Quản trị danh mục", "permissions": ["agencies.change_agency"]}
