"""Two people editing the same draft node: the second save, made on what the first changed
meanwhile, is refused (409 in words), not merged over it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dti_portal.errors import Conflict
from indicators.models import Indicator
from indicators.services import Assignment, framework_assign, indicator_update
from tests.factories import AgencyFactory, IndicatorFactory

pytestmark = pytest.mark.django_db


def _assign(reviewer, node, *, lead, coordinators) -> None:
    framework_assign(
        actor=reviewer,
        framework=node.framework,
        assignments=[
            Assignment(
                indicator_id=node.pk,
                lead_agency=lead,
                coordinating_agencies=coordinators,
                coordinating_groups=[],
            )
        ],
    )


def test_a_stale_edit_of_a_draft_node_is_refused(reviewer):
    node = IndicatorFactory(code="1.1", name="Tên ban đầu")
    seen = node.updated_at
    indicator_update(actor=reviewer, indicator=node, changes={"name": "Sửa lần một"})
    with pytest.raises(Conflict) as exc:
        indicator_update(
            actor=reviewer, indicator=node, changes={"name": "Sửa lần hai"}, seen_updated_at=seen
        )
    assert exc.value.code == "stale_version"
    assert Indicator.objects.get(pk=node.pk).name == "Sửa lần một"
    fresh = Indicator.objects.get(pk=node.pk)
    indicator_update(
        actor=reviewer,
        indicator=fresh,
        changes={"name": "Sửa lần hai"},
        seen_updated_at=fresh.updated_at,
    )
    assert Indicator.objects.get(pk=node.pk).name == "Sửa lần hai"


def test_an_assignment_made_meanwhile_makes_the_edit_stale(reviewer):
    """The bulk assignment page changes coordinators only: the node still counts as changed."""
    node = IndicatorFactory(code="1.1")
    seen = node.updated_at
    _assign(reviewer, node, lead=None, coordinators=[AgencyFactory(code="so-phoi-hop")])
    with pytest.raises(Conflict):
        indicator_update(
            actor=reviewer,
            indicator=node,
            changes={"name": "Sửa"},
            coordinating_agencies=[],
            seen_updated_at=seen,
        )
    assert node.coordinating_agencies.filter(code="so-phoi-hop").exists()


def test_the_edit_page_refuses_a_save_made_on_a_stale_page(reviewer, client_as):
    node = IndicatorFactory(code="1.1", name="Tên ban đầu", level=Indicator.Level.MAIN)
    url = reverse("indicators:indicator_edit", args=[node.pk])
    first, second = client_as(reviewer), client_as(reviewer)
    token = first.get(url).context["form"]["seen_updated_at"].value()
    assert second.get(url).context["form"]["seen_updated_at"].value() == token
    form = {"name": "Sửa lần một", "max_points": "10", "seen_updated_at": token}
    assert first.post(url, form).status_code == 302
    resp = second.post(url, {**form, "name": "Sửa lần hai"})
    assert resp.status_code == 409
    assert "người khác sửa" in resp.content.decode()
    assert Indicator.objects.get(pk=node.pk).name == "Sửa lần một"


def test_a_node_edit_is_audited_from_and_to(reviewer):
    """The audit entry of an edit says what each changed field was and became, the measures
    and the coordinating agencies included (the measures keep no history of their own)."""
    from decimal import Decimal

    from agencies.models import AuditEvent
    from tests.factories import MeasureFactory

    node = IndicatorFactory(
        code="1.1", name="Tên cũ", max_points=Decimal("0"), scoring_rule={"type": "informational"}
    )
    MeasureFactory(indicator=node, code="done", kind="boolean")
    agency = AgencyFactory(code="so-phoi-hop")
    indicator_update(
        actor=reviewer,
        indicator=node,
        changes={"name": "Tên mới", "max_points": Decimal("0")},
        coordinating_agencies=[agency],
        measures=[{"code": "n", "label": "Số lượng", "kind": "count"}],
    )
    data = AuditEvent.objects.get(action="indicator.update").data
    assert data == {
        "name": {"from": "Tên cũ", "to": "Tên mới"},
        "coordinating_agencies": {"from": [], "to": [agency.pk]},
        "measures": {"from": [["done", "boolean"]], "to": [["n", "count"]]},
    }


def test_an_assignment_is_audited_from_and_to(reviewer):
    from agencies.models import AuditEvent

    lead, other = AgencyFactory(code="so-chu-tri"), AgencyFactory(code="so-phoi-hop")
    node = IndicatorFactory(code="1.1", lead_agency=lead)
    _assign(reviewer, node, lead=other, coordinators=[lead])
    data = AuditEvent.objects.get(action="framework.assign").data
    assert data["codes"] == ["1.1"]
    assert data["changes"] == {
        "1.1": {
            "lead_agency": {"from": lead.pk, "to": other.pk},
            "coordinating_agencies": {"from": [], "to": [lead.pk]},
        }
    }
