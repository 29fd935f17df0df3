"""Concurrent editors against a real PostgreSQL: N people PATCH the same draft with the version
they all saw; exactly one save wins, the others get 409 with the current values, nothing is
lost or merged. Concurrent creates of the same item give one row.

Slow (threads, real row locks): ``make test-slow`` with DATABASE_URL=postgres://...; skipped on
SQLite, whose whole-database lock would serialise the requests and prove nothing.
"""

from __future__ import annotations

from collections import Counter

import pytest
from rest_framework.test import APIClient

from evidence import services
from evidence.models import Submission
from tests.concurrency import RACE_MARKS, race
from tests.evidence.reporting_factories import make_world
from tests.factories import UserFactory

N = 12
pytestmark = RACE_MARKS


@pytest.fixture
def world(transactional_db, agency_a, agency_b):
    return make_world(agency_a, agency_b)


def test_concurrent_patches_one_wins(world, user_a, agency_a):
    editors = [UserFactory(username=f"ed{i}", agency=agency_a) for i in range(N)]
    sub = services.submission_create(
        actor=user_a,
        indicator=world.ratio,
        period=world.period,
        values={"numerator": "1", "denominator": "100"},
    )

    def patch(i: int) -> object:
        client = APIClient()
        client.force_authenticate(editors[i])
        resp = client.patch(
            f"/api/v1/submissions/{sub.pk}/",
            {"version": sub.version, "values": {"numerator": str(i + 2), "denominator": "100"}},
            format="json",
        )
        return resp.status_code, resp.json()

    results = race(N, patch)
    codes = Counter(code for code, _body in results)  # type: ignore[misc]
    assert codes == {200: 1, 409: N - 1}
    winner = next(body for code, body in results if code == 200)  # type: ignore[misc]
    fresh = Submission.objects.get(pk=sub.pk)
    assert fresh.version == 2 and fresh.values == winner["values"]
    for code, body in results:  # type: ignore[misc]
        if code == 409:
            assert body["current"]["values"] == fresh.values
    assert fresh.history.count() == 2  # creation + the single winning save


def test_concurrent_creates_one_row(world, agency_a):
    editors = [UserFactory(username=f"cr{i}", agency=agency_a) for i in range(N)]

    def create(i: int) -> object:
        client = APIClient()
        client.force_authenticate(editors[i])
        return client.post(
            "/api/v1/submissions/",
            {
                "indicator": world.ratio.pk,
                "period": world.period.pk,
                "values": {"numerator": "1", "denominator": "2"},
            },
            format="json",
        ).status_code

    assert Counter(race(N, create)) == {201: 1, 409: N - 1}
    assert Submission.objects.count() == 1
