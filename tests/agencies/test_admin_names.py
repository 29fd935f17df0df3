"""The admin refuses, in words, a name or alias that already names an agency or a group (the
database's unique constraints are on derived columns no admin form shows, so without these
checks a duplicate reached the database and answered 500)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agencies.models import Agency, AgencyAlias, AgencyGroup, AgencyGroupAlias
from tests.factories import AgencyFactory, AgencyGroupFactory

pytestmark = pytest.mark.django_db


def _agency_form(code: str, name: str, aliases: list[str], initial: int = 0) -> dict[str, str]:
    data = {
        "code": code,
        "name": name,
        "short_name": "",
        "kind": "department",
        "head_email": "",
        "is_active": "on",
        "aliases-TOTAL_FORMS": str(len(aliases)),
        "aliases-INITIAL_FORMS": str(initial),
    }
    for i, alias in enumerate(aliases):
        data[f"aliases-{i}-alias"] = alias
    return data


def _group_form(code: str, name: str, aliases: list[str]) -> dict[str, str]:
    data = {
        "code": code,
        "name": name,
        "kinds": "[]",
        "aliases-TOTAL_FORMS": str(len(aliases)),
        "aliases-INITIAL_FORMS": "0",
    }
    for i, alias in enumerate(aliases):
        data[f"aliases-{i}-alias"] = alias
    return data


@pytest.mark.parametrize(
    "aliases",
    [
        ["Sở Tài chính"],  # another agency's name
        ["STC"],  # another agency's alias
        ["Các sở, ban, ngành"],  # a group's name
        ["Sở Mới", "so moi"],  # twice in one form (same once normalised)
    ],
)
def test_an_alias_already_in_use_is_refused_in_words(admin_user, client_as, aliases):
    other = AgencyFactory(code="so-tc", name="Sở Tài chính")
    AgencyAlias.objects.create(agency=other, alias="STC")
    AgencyGroupFactory(code="cac-so", name="Các sở, ban, ngành")
    before = (Agency.objects.count(), AgencyAlias.objects.count())
    resp = client_as(admin_user).post(
        reverse("admin:agencies_agency_add"), _agency_form("so-moi", "Sở Mới Lập", aliases)
    )
    assert resp.status_code == 200
    assert "đã được dùng" in resp.content.decode()
    assert (Agency.objects.count(), AgencyAlias.objects.count()) == before


def test_an_agency_may_keep_its_own_name_as_alias_and_edit_itself(admin_user, client_as):
    resp = client_as(admin_user).post(
        reverse("admin:agencies_agency_add"),
        _agency_form("so-moi", "Sở Mới Lập", ["Sở Mới Lập", "SML"]),
    )
    assert resp.status_code == 302
    agency = Agency.objects.get(code="so-moi")
    assert agency.aliases.count() == 2
    data = _agency_form("so-moi", "Sở Mới Lập", [], initial=0)
    resp = client_as(admin_user).post(
        reverse("admin:agencies_agency_change", args=[agency.pk]), data
    )
    assert resp.status_code == 302


@pytest.mark.parametrize("name", ["Sở Tài chính", "STC", "Các sở, ban, ngành"])
def test_a_group_name_or_alias_already_in_use_is_refused_in_words(admin_user, client_as, name):
    other = AgencyFactory(code="so-tc", name="Sở Tài chính")
    AgencyAlias.objects.create(agency=other, alias="STC")
    AgencyGroupFactory(code="cac-so", name="Các sở, ban, ngành")
    before = (AgencyGroup.objects.count(), AgencyGroupAlias.objects.count())
    client = client_as(admin_user)
    for form in (_group_form("nhom", name, []), _group_form("nhom", "Nhóm mới", [name])):
        resp = client.post(reverse("admin:agencies_agencygroup_add"), form)
        assert resp.status_code == 200
        assert "đã được dùng" in resp.content.decode()
    assert (AgencyGroup.objects.count(), AgencyGroupAlias.objects.count()) == before


def test_an_agency_name_of_a_group_is_refused(admin_user, client_as):
    AgencyGroupFactory(code="cac-so", name="Các sở, ban, ngành")
    resp = client_as(admin_user).post(
        reverse("admin:agencies_agency_add"), _agency_form("so-moi", "Các sở, ban, ngành", [])
    )
    assert resp.status_code == 200 and "đã có" in resp.content.decode()
