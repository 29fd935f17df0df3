"""End to end through evidence's services (eager Celery): approvals update the scores."""

from __future__ import annotations

from decimal import Decimal

import pytest

from evidence.services import submission_approve, submission_create, submission_submit
from scoring.models import ScoreSnapshot, ScoreState
from scoring.selectors import score_summary
from tests.factories import UserFactory

from .helpers import make_framework

D = Decimal
pytestmark = pytest.mark.django_db


def test_approval_updates_the_summary(django_capture_on_commit_callbacks, reviewer):
    fw, period, lead, subs = make_framework()
    staff = UserFactory(role="agency_staff", agency=lead)
    with django_capture_on_commit_callbacks(execute=True):
        sub = submission_create(
            actor=staff,
            indicator=subs["1.1"],
            period=period,
            values={"numerator": "2", "denominator": "3"},
        )
        sub = submission_submit(submission=sub, actor=staff, version=sub.version)
    summary = score_summary(user=reviewer, framework=fw, period=period)
    assert summary["appraised"]["stale"] is False
    assert D(summary["self_assessed"]["total_points"]) == D(200)
    assert D(summary["appraised"]["total_points"]) == D(0)
    with django_capture_on_commit_callbacks(execute=True):
        submission_approve(submission=sub, actor=reviewer, version=sub.version)
    summary = score_summary(user=reviewer, framework=fw, period=period)
    assert D(summary["appraised"]["total_points"]) == D(200)
    assert D(summary["final"]["total_points"]) == D(200)
    assert summary["appraised"]["stale"] is False
    snap = ScoreSnapshot.objects.get(framework=fw, period=period, kind="appraised")
    assert snap.lineage["1.1"]["submission_ids"] == [sub.pk]
    assert snap.lineage["1.1"]["state"] == "approved" and not snap.lineage["1.1"]["at_risk"]
    state = ScoreState.objects.get(framework=fw, period=period)
    assert not state.stale and state.runs >= 2


def _risk_reasons(fw, period) -> dict[str, str]:
    snap = ScoreSnapshot.objects.get(framework=fw, period=period, kind="appraised")
    return {code: e["risk_reason"] for code, e in snap.lineage.items() if e["at_risk"]}


def test_a_moved_deadline_updates_the_risk_reasons(django_capture_on_commit_callbacks, reviewer):
    """Whether a missing item is "overdue" or still "missing" depends on the deadline (the
    period's, or the lead's own extension of the item): the Sở extending the period or
    reopening one item asks for a recompute, as any other scoring input does, instead of the
    dashboard counting items overdue until the nightly run (never, for a closed period)."""
    import datetime

    from evidence.models import ReportingPeriod
    from evidence.services import item_extension_grant, period_extend
    from scoring import services

    fw, period, lead, subs = make_framework()
    ReportingPeriod.objects.filter(pk=period.pk).update(
        deadline=datetime.date.today() - datetime.timedelta(days=3)
    )
    period.refresh_from_db()
    services.score_recompute(framework_id=fw.pk, period_id=period.pk, force=True)
    assert _risk_reasons(fw, period) == {"1.1": "overdue", "1.2": "overdue", "2.1": "overdue"}
    later = datetime.date.today() + datetime.timedelta(days=10)
    with django_capture_on_commit_callbacks(execute=True):
        item_extension_grant(
            actor=reviewer,
            period=period,
            indicator=subs["1.2"],
            agency=lead,
            deadline=later,
            reason="Gia hạn cho cơ quan chủ trì",
        )
    assert _risk_reasons(fw, period) == {"1.1": "overdue", "1.2": "missing", "2.1": "overdue"}
    assert not ScoreState.objects.get(framework=fw, period=period).stale
    with django_capture_on_commit_callbacks(execute=True):
        period_extend(actor=reviewer, period=period, deadline=later)
    assert _risk_reasons(fw, period) == {"1.1": "missing", "1.2": "missing", "2.1": "missing"}
    assert not ScoreState.objects.get(framework=fw, period=period).stale
