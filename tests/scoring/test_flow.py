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
