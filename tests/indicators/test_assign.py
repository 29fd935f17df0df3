"""Assigning lead and coordinating agencies to every sub-indicator of a draft on one page: an
appendix without agency columns (DOMAIN §3) leaves ~50 sub-indicators with nobody to report them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from agencies.models import AuditEvent
from dti_portal.errors import Conflict
from indicators.models import Framework, Indicator
from indicators.services import Assignment, framework_assign
from tests.factories import AgencyFactory, AgencyGroupFactory, FrameworkFactory, IndicatorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft():
    fw = FrameworkFactory(total_points=Decimal("20"))
    main = IndicatorFactory(
        framework=fw, level=Indicator.Level.MAIN, code="1", max_points=Decimal("20")
    )
    for code in ("1.1", "1.2"):
        IndicatorFactory(framework=fw, parent=main, code=code, max_points=Decimal("10"))
    return fw


def _sub(fw, code):
    return Indicator.objects.get(framework=fw, code=code)


def test_one_post_assigns_every_sub_indicator(draft, reviewer, client_as):
    lead, other, coord = AgencyFactory(), AgencyFactory(), AgencyFactory()
    group = AgencyGroupFactory()
    c = client_as(reviewer)
    detail = c.get(reverse("indicators:framework_detail", args=[draft.pk])).content.decode()
    assert 'id="unassigned"' in detail and "1.1, 1.2" in detail
    url = reverse("indicators:framework_assign", args=[draft.pk])
    page = c.get(url)
    assert page.status_code == 200
    s11, s12 = _sub(draft, "1.1"), _sub(draft, "1.2")
    assert f'name="lead_{s11.pk}"' in page.content.decode()
    resp = c.post(
        url,
        {
            f"lead_{s11.pk}": lead.pk,
            f"coord_{s11.pk}": [coord.pk, lead.pk],  # the lead is not its own coordinator
            f"groups_{s11.pk}": [group.pk],
            f"lead_{s12.pk}": other.pk,
        },
    )
    assert resp.status_code == 302
    s11.refresh_from_db()
    s12.refresh_from_db()
    assert s11.lead_agency == lead and s12.lead_agency == other
    assert list(s11.coordinating_agencies.all()) == [coord]
    assert list(s11.coordinating_groups.all()) == [group]
    event = AuditEvent.objects.get(action="framework.assign")
    assert event.data["codes"] == ["1.1", "1.2"]
    detail = c.get(reverse("indicators:framework_detail", args=[draft.pk])).content.decode()
    assert 'id="unassigned"' not in detail


def test_unchanged_rows_are_not_rewritten(draft, reviewer):
    lead = AgencyFactory()
    rows = [
        Assignment(
            indicator_id=s.pk, lead_agency=lead, coordinating_agencies=[], coordinating_groups=[]
        )
        for s in Indicator.objects.filter(framework=draft, level=Indicator.Level.SUB)
    ]
    assert framework_assign(actor=reviewer, framework=draft, assignments=rows) == ["1.1", "1.2"]
    assert framework_assign(actor=reviewer, framework=draft, assignments=rows) == []
    assert AuditEvent.objects.filter(action="framework.assign").count() == 1


def test_published_framework_and_other_roles_are_refused(draft, reviewer, user_a, client_as):
    url = reverse("indicators:framework_assign", args=[draft.pk])
    assert client_as(user_a).get(url).status_code == 403
    Framework.objects.filter(pk=draft.pk).update(status=Framework.Status.PUBLISHED)
    draft = Framework.objects.get(pk=draft.pk)
    s11 = _sub(draft, "1.1")
    row = Assignment(
        indicator_id=s11.pk,
        lead_agency=AgencyFactory(),
        coordinating_agencies=[],
        coordinating_groups=[],
    )
    with pytest.raises(Conflict):
        framework_assign(actor=reviewer, framework=draft, assignments=[row])
    resp = client_as(reviewer).post(url, {f"lead_{s11.pk}": row.lead_agency.pk})
    assert resp.status_code == 302
    s11.refresh_from_db()
    assert s11.lead_agency is None


def test_an_inactive_agency_already_assigned_is_kept_on_save(draft, reviewer, client_as):
    """The lists offer the agencies already assigned even once inactive (marked so): saving the
    page with other rows changed does not silently drop them."""
    gone = AgencyFactory(name="Sở Cũ", is_active=False)
    s11, s12 = _sub(draft, "1.1"), _sub(draft, "1.2")
    s11.lead_agency = gone
    s11.save()
    s12.coordinating_agencies.add(gone)
    new_lead = AgencyFactory()
    c = client_as(reviewer)
    url = reverse("indicators:framework_assign", args=[draft.pk])
    page = c.get(url).content.decode()
    assert "Sở Cũ (ngừng hoạt động)" in page
    resp = c.post(
        url,
        {
            f"lead_{s11.pk}": gone.pk,  # as the page shows it
            f"lead_{s12.pk}": new_lead.pk,
            f"coord_{s12.pk}": [gone.pk],
        },
    )
    assert resp.status_code == 302
    s11.refresh_from_db()
    s12.refresh_from_db()
    assert s11.lead_agency == gone and s12.lead_agency == new_lead
    assert list(s12.coordinating_agencies.all()) == [gone]
    assert AuditEvent.objects.get(action="framework.assign").data["codes"] == ["1.2"]
