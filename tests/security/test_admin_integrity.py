"""The Django admin is no way around the domain rules: what it may change of a published
framework, of an assignment, of a crosswalk, and what it leaves in the audit log."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from agencies.models import Agency, AgencyGroup, AuditEvent
from indicators.models import Crosswalk, Framework, Indicator
from tests.factories import AgencyFactory, AgencyGroupFactory, FrameworkFactory, IndicatorFactory

pytestmark = pytest.mark.django_db


def _published() -> Framework:
    fw = FrameworkFactory(code="fw-pub")
    Framework.objects.filter(pk=fw.pk).update(status=Framework.Status.PUBLISHED)
    return Framework.objects.get(pk=fw.pk)


def _indicator_form(framework: Framework, **overrides: str) -> dict[str, str]:
    data = {
        "framework": str(framework.pk),
        "parent": "",
        "level": "sub",
        "code": "9.9",
        "name": "Chỉ số thêm qua trang quản trị",
        "max_points": "10",
        "scoring_method": "",
        "evidence_guidance": "",
        "scoring_rule": "{}",
        "lead_agency": "",
        "measures-TOTAL_FORMS": "0",
        "measures-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_admin_cannot_add_a_node_to_a_published_framework(admin_user, client_as):
    pub = _published()
    client = client_as(admin_user)
    page = client.get(reverse("admin:indicators_indicator_add"))
    assert page.status_code == 200
    assert "(fw-pub)" not in page.content.decode()  # not offered
    client.post(reverse("admin:indicators_indicator_add"), _indicator_form(pub))
    assert not Indicator.objects.filter(framework=pub).exists()


def test_admin_cannot_move_a_draft_node_into_a_published_framework(admin_user, client_as):
    pub = _published()
    draft_node = IndicatorFactory(code="1.1")
    draft = draft_node.framework
    client_as(admin_user).post(
        reverse("admin:indicators_indicator_change", args=[draft_node.pk]),
        _indicator_form(pub, code="1.1", name=draft_node.name),
    )
    draft_node.refresh_from_db()
    assert draft_node.framework_id == draft.pk
    assert not Indicator.objects.filter(framework=pub).exists()


def test_admin_cannot_hang_a_draft_node_under_a_published_one(admin_user, client_as):
    pub = _published()
    main = IndicatorFactory(framework=pub, level="main", code="1", max_points=Decimal("10"))
    draft_node = IndicatorFactory(code="1.1")
    client_as(admin_user).post(
        reverse("admin:indicators_indicator_change", args=[draft_node.pk]),
        _indicator_form(draft_node.framework, code="1.1", parent=str(main.pk)),
    )
    draft_node.refresh_from_db()
    assert draft_node.parent_id is None
    assert not main.children.exists()


def test_crosswalks_are_not_added_or_changed_in_the_admin(admin_user, client_as):
    """Crosswalks are made on the comparison page (audited): the admin only shows them, and a
    wrong row deleted there leaves an audit entry."""
    old, new = _published(), FrameworkFactory(code="fw-new")
    IndicatorFactory(framework=old, code="1.1")
    IndicatorFactory(framework=new, code="1.1")
    row = Crosswalk.objects.create(source=old, target=new, source_code="1.1", target_code="1.1")
    client = client_as(admin_user)
    form = {"source": old.pk, "source_code": "1.1", "target": new.pk, "target_code": "2.2"}
    assert client.post(reverse("admin:indicators_crosswalk_add"), form).status_code == 403
    change = reverse("admin:indicators_crosswalk_change", args=[row.pk])
    assert client.post(change, form).status_code == 403
    row.refresh_from_db()
    assert row.target_code == "1.1"
    assert client.get(change).status_code == 200  # still viewable
    client.post(reverse("admin:indicators_crosswalk_delete", args=[row.pk]), {"post": "yes"})
    assert not Crosswalk.objects.filter(pk=row.pk).exists()
    event = AuditEvent.objects.get(action="crosswalk.delete")
    assert event.actor == admin_user
    assert event.data["pairs"] == [["1.1", "1.1"]] and event.data["source"] == old.pk


def _group_form(group: AgencyGroup, members: list[Agency]) -> dict[str, object]:
    return {
        "code": group.code,
        "name": group.name,
        "kinds": "[]",
        "members": [str(a.pk) for a in members],
        "aliases-TOTAL_FORMS": "0",
        "aliases-INITIAL_FORMS": "0",
    }


def test_group_membership_changed_in_the_admin_is_audited(admin_user, client_as):
    """A group's members are who reports for every sub-indicator it coordinates: a change is
    audited with the members before and after."""
    a, b = AgencyFactory(code="so-a"), AgencyFactory(code="so-b")
    group = AgencyGroupFactory(code="nhom", name="Nhóm thử", kinds=[])
    group.members.set([a])
    resp = client_as(admin_user).post(
        reverse("admin:agencies_agencygroup_change", args=[group.pk]), _group_form(group, [a, b])
    )
    assert resp.status_code == 302
    event = AuditEvent.objects.get(action="agency_group.update")
    assert event.actor == admin_user and event.object_id == str(group.pk)
    assert event.data["members"] == {"from": [a.pk], "to": sorted([a.pk, b.pk])}


def test_a_group_used_by_a_sub_indicator_is_not_deleted_in_the_admin(admin_user, client_as):
    """Deleting it would silently drop it from the assignment of a published framework."""
    group = AgencyGroupFactory(code="nhom", name="Nhóm thử")
    node = IndicatorFactory(framework=_published(), code="1.1")
    node.coordinating_groups.add(group)
    client = client_as(admin_user)
    page = client.post(
        reverse("admin:agencies_agencygroup_delete", args=[group.pk]), {"post": "yes"}
    )
    assert AgencyGroup.objects.filter(pk=group.pk).exists()
    assert "1.1" in page.content.decode()  # the page names what holds it
    client.post(
        reverse("admin:agencies_agencygroup_changelist"),
        {"action": "delete_selected", "_selected_action": [group.pk], "post": "yes"},
    )
    assert AgencyGroup.objects.filter(pk=group.pk).exists()


def test_an_unused_group_deleted_in_the_admin_is_audited(admin_user, client_as):
    group = AgencyGroupFactory(code="nhom", name="Nhóm thử")
    client_as(admin_user).post(
        reverse("admin:agencies_agencygroup_delete", args=[group.pk]), {"post": "yes"}
    )
    assert not AgencyGroup.objects.filter(pk=group.pk).exists()
    event = AuditEvent.objects.get(action="agency_group.delete")
    assert event.actor == admin_user and event.object_repr == "Nhóm thử"


def test_an_agency_coordinating_a_sub_indicator_is_not_deleted_in_the_admin(admin_user, client_as):
    """The lead agency is protected by its foreign key; a coordinating agency was dropped from a
    published framework's assignment without a trace."""
    agency = AgencyFactory(code="so-phoi-hop")
    node = IndicatorFactory(framework=_published(), code="1.1")
    node.coordinating_agencies.add(agency)
    client = client_as(admin_user)
    client.post(reverse("admin:agencies_agency_delete", args=[agency.pk]), {"post": "yes"})
    assert Agency.objects.filter(pk=agency.pk).exists()
    client.post(
        reverse("admin:agencies_agency_changelist"),
        {"action": "delete_selected", "_selected_action": [agency.pk], "post": "yes"},
    )
    assert Agency.objects.filter(pk=agency.pk).exists()
    assert node.coordinating_agencies.filter(pk=agency.pk).exists()


def test_admin_cannot_hang_a_node_under_another_drafts_node(admin_user, client_as):
    other_main = IndicatorFactory(level="main", code="1", max_points=Decimal("10"))
    node = IndicatorFactory(code="1.1")
    resp = client_as(admin_user).post(
        reverse("admin:indicators_indicator_change", args=[node.pk]),
        _indicator_form(node.framework, code="1.1", parent=str(other_main.pk)),
    )
    node.refresh_from_db()
    assert node.parent_id is None
    assert "Chỉ số cha phải thuộc cùng bộ chỉ số." in resp.content.decode()


def test_history_revert_cannot_change_a_published_framework(admin_user, client_as):
    """simple-history's "revert to this version" page saved on a view permission alone: a
    published framework went back to its draft state (and values), past the state machine."""
    fw = FrameworkFactory(code="fw-rev", name="Tên khi còn nháp")
    draft_version = fw.history.get().history_id
    Framework.objects.filter(pk=fw.pk).update(status=Framework.Status.PUBLISHED, name="Đã ban hành")
    url = reverse("admin:indicators_framework_simple_history", args=[fw.pk, draft_version])
    client = client_as(admin_user)
    assert client.get(url).status_code == 200  # the old version stays viewable
    form = {
        "code": "fw-rev",
        "name": "Tên khi còn nháp",
        "year": "2025",
        "decision": "",
        "unit_type": "province",
        "total_points": "1000",
        "source_file_name": "",
    }
    assert client.post(url, form).status_code == 403
    fw = Framework.objects.get(pk=fw.pk)
    assert fw.status == Framework.Status.PUBLISHED and fw.name == "Đã ban hành"


def test_history_revert_cannot_change_a_published_node(admin_user, client_as):
    node = IndicatorFactory(code="1.1", name="Tên cũ")
    old_version = node.history.get().history_id
    Framework.objects.filter(pk=node.framework_id).update(status=Framework.Status.PUBLISHED)
    Indicator.objects.filter(pk=node.pk).update(name="Tên đã ban hành")
    url = reverse("admin:indicators_indicator_simple_history", args=[node.pk, old_version])
    resp = client_as(admin_user).post(
        url, _indicator_form(node.framework, code="1.1", name="Tên cũ")
    )
    assert resp.status_code == 403
    assert Indicator.objects.get(pk=node.pk).name == "Tên đã ban hành"


def test_history_revert_of_an_account_is_refused(admin_user, client_as):
    """An account changes through its change form (audited role, agency, deactivation), not by
    restoring an old row over it."""
    from agencies.models import User
    from tests.factories import UserFactory

    user = UserFactory(username="canbo", role=User.Role.AGENCY_STAFF)
    old_version = user.history.earliest().history_id
    User.objects.filter(pk=user.pk).update(is_active=False)
    url = reverse("admin:agencies_user_simple_history", args=[user.pk, old_version])
    resp = client_as(admin_user).post(
        url,
        {
            "username": "canbo",
            "is_active": "on",
            "role": User.Role.AGENCY_STAFF,
            "agency": str(user.agency_id),
            "full_name": user.full_name,
            "date_joined_0": "2025-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert resp.status_code == 403
    assert not User.objects.get(pk=user.pk).is_active


def test_a_draft_node_edited_in_the_admin_is_audited_like_the_edit_page(admin_user, client_as):
    """The admin's change form (and its measures inline) writes the same audit entry as the
    framework's edit page: each changed field and the measures from → to."""
    from tests.factories import MeasureFactory

    node = IndicatorFactory(code="1.1", name="Tên cũ", scoring_rule={"type": "informational"})
    m = MeasureFactory(indicator=node, code="done", label="Đã làm", kind="boolean")
    form = _indicator_form(node.framework, code="1.1", name="Tên mới")
    form.update(
        {
            "scoring_rule": '{"type": "informational"}',
            "measures-TOTAL_FORMS": "1",
            "measures-INITIAL_FORMS": "1",
            "measures-0-id": str(m.pk),
            "measures-0-indicator": str(node.pk),
            "measures-0-code": "done",
            "measures-0-label": "Đã làm",
            "measures-0-kind": "count",
            "measures-0-unit": "",
            "measures-0-required": "on",
            "measures-0-choices": "[]",
            "measures-0-position": "0",
        }
    )
    resp = client_as(admin_user).post(
        reverse("admin:indicators_indicator_change", args=[node.pk]), form
    )
    assert resp.status_code == 302
    event = AuditEvent.objects.get(action="indicator.update")
    assert event.actor == admin_user and event.object_id == str(node.pk)
    assert event.data == {
        "name": {"from": "Tên cũ", "to": "Tên mới"},
        "measures": {"from": [["done", "boolean"]], "to": [["done", "count"]]},
    }
