"""Races against a real PostgreSQL: 20 concurrent approve / submit requests on one submission give
exactly one success, one audit row and one notification; the others answer 409.

Slow (threads, real row locks): ``make test-slow`` with DATABASE_URL=postgres://...; skipped on
SQLite, whose whole-database lock would serialise the requests and prove nothing.
"""

from __future__ import annotations

from collections import Counter

import pytest
from rest_framework.test import APIClient

from dti_portal.errors import Conflict
from evidence.models import Notification, Submission, SubmissionTransition
from evidence.services import submission_approve, submission_submit
from evidence.signals import scores_invalidated
from tests.concurrency import RACE_MARKS, race
from tests.evidence.review_setup import make_item

N = 20
pytestmark = RACE_MARKS


def _post(user, path: str, body: dict) -> int:
    client = APIClient()
    client.force_authenticate(user)
    return client.post(path, body, format="json").status_code


@pytest.fixture
def item(transactional_db, agency_a, agency_b):
    return make_item(agency_a, agency_b)


def test_concurrent_approve_api(item, user_a, reviewer):
    cons = submission_submit(submission=item.consolidation, actor=user_a, version=1)
    Notification.objects.all().delete()
    path = f"/api/v1/submissions/{cons.pk}/approve/"
    signals: list[int] = []

    def receiver(sender, **kwargs):  # type: ignore[no-untyped-def]
        signals.append(kwargs["period_id"])

    scores_invalidated.connect(receiver, weak=False)
    try:
        codes = race(N, lambda: _post(reviewer, path, {"version": cons.version}))
    finally:
        scores_invalidated.disconnect(receiver)
    assert Counter(codes) == {200: 1, 409: N - 1}
    assert signals == [cons.period_id]  # one score recompute requested
    cons.refresh_from_db()
    assert cons.state == Submission.State.APPROVED and cons.version == 3
    assert SubmissionTransition.objects.filter(submission=cons, action="approve").count() == 1
    assert Notification.objects.filter(kind="approved").count() == 1


def test_concurrent_submit_api(item, user_a, reviewer):
    path = f"/api/v1/submissions/{item.consolidation.pk}/submit/"
    codes = race(N, lambda: _post(user_a, path, {"version": 1}))
    assert Counter(codes) == {200: 1, 409: N - 1}
    assert SubmissionTransition.objects.filter(action="submit").count() == 1
    assert Notification.objects.filter(kind="submitted").count() == 1  # one reviewer


def test_concurrent_approve_without_version_state_guard(item, user_a, reviewer):
    cons = submission_submit(submission=item.consolidation, actor=user_a, version=1)

    def approve() -> object:
        sub = Submission.objects.select_related("indicator").get(pk=cons.pk)
        return submission_approve(submission=sub, actor=reviewer, version=None)

    results = race(N, approve)
    ok = [r for r in results if isinstance(r, Submission)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(ok) == 1 and len(conflicts) == N - 1, results
    assert SubmissionTransition.objects.filter(action="approve").count() == 1
