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
    framework_assign(
        actor=reviewer,
        framework=node.framework,
        assignments=[
            Assignment(
                indicator_id=node.pk,
                lead_agency=None,
                coordinating_agencies=[AgencyFactory(code="so-phoi-hop")],
                coordinating_groups=[],
            )
        ],
    )
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
