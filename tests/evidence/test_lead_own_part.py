"""The lead agency's own part of a consolidated item (``Submission.own_values``).

A lead agency is often also one of the units counted (Sở Nội vụ counts its own civil servants
with every other department's): its own figures join the coordinators' contributions in the
proposal, so consolidated values equal to that sum need no adjustment reason.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from dti_portal.errors import ValidationFailed
from evidence import services
from evidence.history import submission_history
from evidence.models import Submission
from evidence.services.values import own_share_measures
from indicators.models import Measure
from indicators.scoring_rules import combinable_codes
from tests.evidence.reporting_factories import make_world
from tests.evidence.test_send_guard import CONSOLIDATION_MESSAGE, item_url, sent
from tests.factories import IndicatorFactory, MeasureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(agency_a, agency_b):
    return make_world(agency_a, agency_b)


@pytest.fixture
def consolidated(world, user_a):
    """A sent 3/4 to the lead, which consolidated 5/8 with its own part 2/4 (a draft)."""
    sent(user_a, world, {"numerator": "3", "denominator": "4"})
    return lead_create(
        world,
        {"numerator": "5", "denominator": "8"},
        own_values={"numerator": "2", "denominator": "4"},
    )


def form(own=("", ""), values=("", ""), action="save"):
    """The lead's item form as posted: own part, consolidated values, the button pressed."""
    return {
        "version": 0,
        "own_part": "1",
        "o_numerator": own[0],
        "o_denominator": own[1],
        "v_numerator": values[0],
        "v_denominator": values[1],
        "action": action,
    }


def lead_create(world, values, **kw):
    return services.submission_create(
        actor=world.lead_user, indicator=world.ratio, period=world.period, values=values, **kw
    )


# --- which measures have an own part ---------------------------------------------------------


def test_only_combinable_measures_have_an_own_part():
    kinds = {
        "n": "numerator",
        "d": "denominator",
        "c": "count",
        "x": "number",
        "b": "boolean",
        "l": "level",
        "p": "percent",
        "r": "rate",
        "t": "text",
    }
    assert combinable_codes({"type": "ratio"}, kinds) == {"n", "d", "c", "x", "b", "l"}
    # the points entered for a manual or external rule are never added up
    assert "x" not in combinable_codes({"type": "manual", "measure": "x"}, kinds)
    assert "x" not in combinable_codes({"type": "external", "measure": "x"}, kinds)


def test_own_share_measures_follow_the_rule(world):
    ind = IndicatorFactory(
        framework=world.framework, code="9.2", scoring_rule={"type": "manual", "measure": "pts"}
    )
    MeasureFactory(indicator=ind, code="pts", kind=Measure.Kind.NUMBER)
    MeasureFactory(indicator=ind, code="pct", kind=Measure.Kind.PERCENT)
    MeasureFactory(indicator=ind, code="cnt", kind=Measure.Kind.COUNT)
    measures = list(ind.measures.all())
    assert [m.code for m in own_share_measures(ind, measures)] == ["cnt"]


# --- services --------------------------------------------------------------------------------


def test_own_part_joins_the_proposal_and_needs_no_reason(world, user_a, user_b):
    sent(user_a, world, {"numerator": "3", "denominator": "4"})
    sent(user_b, world, {"numerator": "1", "denominator": "2"})
    assert services.lead_proposal(
        indicator=world.ratio,
        period=world.period,
        own_values={"numerator": "2", "denominator": "4"},
    ) == {"numerator": "6", "denominator": "10"}
    # Without the own part, 6/10 differs from 4/6 and needs a reason; with it, it is the sum.
    with pytest.raises(ValidationFailed) as exc:
        lead_create(world, {"numerator": "6", "denominator": "10"})
    assert exc.value.errors == {"consolidation_reason": [CONSOLIDATION_MESSAGE]}
    sub = lead_create(
        world,
        {"numerator": "6", "denominator": "10"},
        own_values={"numerator": "2,0", "denominator": "4"},
    )
    assert sub.is_consolidation and sub.consolidation_reason == ""
    assert sub.own_values == {"numerator": "2", "denominator": "4"}  # stored canonical
    assert sub.self_points == Decimal("6")
    # The send re-checks with the stored own part: no reason needed either.
    out = services.submission_submit(submission=sub, actor=world.lead_user, version=sub.version)
    assert out.state == Submission.State.SUBMITTED


def test_update_keeps_the_stored_own_part_unless_given(world, consolidated):
    sub = consolidated
    sub = services.submission_update(
        submission=sub, actor=world.lead_user, version=sub.version, note="Đã rà soát"
    )
    assert sub.own_values == {"numerator": "2", "denominator": "4"}
    # Clearing the own part makes 5/8 an adjustment of A's 3/4 again: refused, nothing changed.
    with pytest.raises(ValidationFailed) as exc:
        services.submission_update(
            submission=sub, actor=world.lead_user, version=sub.version, own_values={}
        )
    assert "consolidation_reason" in exc.value.errors
    fresh = Submission.objects.get(pk=sub.pk)
    assert fresh.own_values == {"numerator": "2", "denominator": "4"}
    assert fresh.version == sub.version


@pytest.mark.parametrize(
    ("own", "code", "fragment"),
    [
        ({"numerator": "-1"}, "numerator", "không được âm"),
        ({"numerator": "5", "denominator": "4"}, "numerator", "không được lớn hơn"),
        ({"other": "1"}, "other", "Không có số liệu"),
    ],
)
def test_bad_own_part_refused_with_field_errors(world, own, code, fragment):
    with pytest.raises(ValidationFailed) as exc:
        lead_create(world, {"numerator": "1", "denominator": "4"}, own_values=own)
    assert fragment in exc.value.errors["own_values"][code]
    assert not Submission.objects.exists()


def test_a_coordinating_agency_has_no_own_part_to_state(world, user_a):
    with pytest.raises(ValidationFailed) as exc:
        services.submission_create(
            actor=user_a,
            indicator=world.ratio,
            period=world.period,
            values={"numerator": "1", "denominator": "2"},
            own_values={"numerator": "1"},
        )
    assert "own_values" in exc.value.errors
    assert not Submission.objects.exists()


def test_carry_over_copies_the_lead_own_part(world, consolidated):
    from evidence.models import ReportingPeriod

    nxt = ReportingPeriod.objects.create(
        framework=world.framework,
        year=world.period.year + 1,
        quarter=1,
        deadline=world.period.deadline.replace(year=world.period.deadline.year + 1),
        status=world.period.status,
    )
    carried = services.submission_carry_over(
        actor=world.lead_user, indicator=world.ratio, period=nxt
    )
    assert carried.own_values == {"numerator": "2", "denominator": "4"}
    assert carried.values == {"numerator": "5", "denominator": "8"}


def test_history_lists_own_part_changes_by_label(world, consolidated):
    sub = consolidated
    services.submission_update(
        submission=sub,
        actor=world.lead_user,
        version=sub.version,
        values={"numerator": "6", "denominator": "8"},
        own_values={"numerator": "3", "denominator": "4"},
    )
    changes = [c for e in submission_history(submission=sub) for c in e.changes]
    own = [c for c in changes if c["field"] == "own_values"]
    assert own == [
        {
            "field": "own_values",
            "measure": "numerator",
            "label": "phần riêng của cơ quan chủ trì: Số CCVC chuyên trách",
            "old": "2",
            "new": "3",
        }
    ]


# --- pages -----------------------------------------------------------------------------------


def test_lead_form_asks_for_the_own_part_and_fills_the_proposal(world, user_a, client_as):
    sent(user_a, world, {"numerator": "3", "denominator": "4"})
    c = client_as(world.lead_user)
    html = c.get(item_url(world)).content.decode()
    assert 'id="own-part"' in html and 'name="o_numerator"' in html
    # Typed own part + "use the proposal": the combined figures in the form, nothing saved.
    resp = c.post(item_url(world), form(own=("2", "4"), action="use_proposal"))
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'name="v_numerator" id="id_v_numerator" value="5"' in html
    assert 'name="v_denominator" id="id_v_denominator" value="8"' in html
    assert 'name="o_numerator" id="id_o_numerator" value="2"' in html
    assert not Submission.objects.filter(agency=world.lead).exists()
    # Saving stores both; no adjustment reason asked.
    resp = c.post(item_url(world), form(own=("2", "4"), values=("5", "8")))
    assert resp.status_code == 302
    sub = Submission.objects.get(agency=world.lead)
    assert sub.own_values == {"numerator": "2", "denominator": "4"}
    assert sub.values == {"numerator": "5", "denominator": "8"}


def test_bad_own_part_shown_on_the_field(world, user_a, client_as):
    sent(user_a, world, {"numerator": "3", "denominator": "4"})
    resp = client_as(world.lead_user).post(
        item_url(world), form(own=("-2", "4"), values=("3", "4"))
    )
    assert resp.status_code == 400
    html = resp.content.decode()
    assert 'id="err_o_numerator"' in html and "không được âm" in html
    assert not Submission.objects.filter(agency=world.lead).exists()


def test_no_own_part_section_without_coordinators(world, client_as):
    world.ratio.coordinating_agencies.clear()
    world.ratio.coordinating_groups.clear()
    html = client_as(world.lead_user).get(item_url(world)).content.decode()
    assert 'id="own-part"' not in html


def test_reviewer_sees_the_own_part(world, consolidated, reviewer, client_as):
    sub = consolidated
    sub = services.submission_submit(submission=sub, actor=world.lead_user, version=sub.version)
    html = (
        client_as(reviewer).get(reverse("evidence:review_detail", args=[sub.pk])).content.decode()
    )
    part = html.split(f'id="own-part-{sub.pk}"')[1].split("</ul>")[0]
    assert "Số CCVC chuyên trách: 2" in part and "Tổng số CCVC: 4" in part


# --- API -------------------------------------------------------------------------------------


def test_api_reads_and_writes_the_own_part(world, user_a, api_as):
    sent(user_a, world, {"numerator": "3", "denominator": "4"})
    api = api_as(world.lead_user)
    resp = api.post(
        reverse("api:submission-list"),
        {
            "indicator": world.ratio.pk,
            "period": world.period.pk,
            "values": {"numerator": "5", "denominator": "8"},
            "own_values": {"numerator": "2", "denominator": "4"},
        },
        format="json",
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["own_values"] == {"numerator": "2", "denominator": "4"}
    bad = api.patch(
        reverse("api:submission-detail", args=[body["id"]]),
        {"version": body["version"], "own_values": {"numerator": "x"}},
        format="json",
    )
    assert bad.status_code == 400
    assert "numerator" in bad.json()["own_values"]


def test_api_refuses_an_own_part_from_a_coordinator(world, user_a, api_as):
    resp = api_as(user_a).post(
        reverse("api:submission-list"),
        {
            "indicator": world.ratio.pk,
            "period": world.period.pk,
            "values": {"numerator": "1", "denominator": "2"},
            "own_values": {"numerator": "1"},
        },
        format="json",
    )
    assert resp.status_code == 400
    assert "own_values" in resp.json()
    assert not Submission.objects.exists()


def test_no_proposal_before_any_contribution_whatever_the_own_part(world):
    """Before a coordinator sends anything the lead's figures are its own (or provisional): an
    own part alone asks for no adjustment reason."""
    assert (
        services.lead_proposal(
            indicator=world.ratio, period=world.period, own_values={"numerator": "2"}
        )
        == {}
    )
    sub = lead_create(
        world,
        {"numerator": "5", "denominator": "8"},
        own_values={"numerator": "2", "denominator": "4"},
    )
    assert sub.consolidation_reason == "" and sub.own_values == {
        "numerator": "2",
        "denominator": "4",
    }
