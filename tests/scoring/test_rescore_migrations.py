"""The data migrations of the threshold-band fix (evidence 0008, scoring 0004): unapproved
self-assessed points rescored and audited, approved ones kept, every stored score marked stale
so that the sweep rewrites closed periods too."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.apps import apps

from agencies.models import AuditEvent
from evidence.models import ReportingPeriod, Submission
from indicators.models import Measure
from scoring import services
from scoring.models import ScoreSnapshot, ScoreState

from .dash_helpers import put_state, recompute

pytestmark = pytest.mark.django_db
D = Decimal
RATE_BANDS = {
    "type": "threshold_bands",
    "measure": "value",
    "bands": [{"min": "120", "fraction": "1"}, {"min": "100", "fraction": "0.8"}],
}
rescore = importlib.import_module("evidence.migrations.0008_rescore_threshold_rates").rescore
mark_stale = importlib.import_module("scoring.migrations.0004_rescore_after_engine_fix").mark_stale


def _rate_item(world, key, state, self_points):
    """1.2 (100 points) as "subscriptions per 100 inhabitants" with bands at 120 and 100; a
    submission of 125 whose stored points are what the capped rule gave (80)."""
    ind = world.subs["1.2"]
    ind.scoring_rule = RATE_BANDS
    ind.save()
    Measure.objects.filter(indicator=ind).delete()
    Measure.objects.create(indicator=ind, code="value", label="Thuê bao/100 dân", kind="rate")
    s = world.submissions[("1.2", key)]
    Submission.objects.filter(pk=s.pk).update(values={"value": "125"})
    s = put_state(s, state)
    Submission.objects.filter(pk=s.pk).update(self_points=self_points)
    return s


def test_unapproved_points_are_rescored_and_audited(world):
    s = _rate_item(world, "so-nv", "submitted", D("80"))
    rescore(apps, None)
    s.refresh_from_db()
    assert s.self_points == D("100")
    event = AuditEvent.objects.get(action="submission.rescored", object_id=str(s.pk))
    assert event.data["self_points"] == {"from": "80.0000", "to": "100.0000"}
    rescore(apps, None)  # run again: nothing left to change, nothing audited twice
    assert AuditEvent.objects.filter(action="submission.rescored").count() == 1


def test_approved_points_are_kept(world):
    s = _rate_item(world, "so-nv", "approved", D("80"))
    rescore(apps, None)
    s.refresh_from_db()
    assert s.self_points == D("80")
    assert not AuditEvent.objects.filter(action="submission.rescored").exists()


def test_closed_periods_are_recomputed_by_the_sweep_after_the_migration(world):
    recompute(world)
    ReportingPeriod.objects.filter(pk=world.period.pk).update(status="closed")
    ScoreSnapshot.objects.filter(period=world.period).update(input_hash="dti-inputs/3-old")
    services.score_recompute_all(open_only=True)  # the nightly run: open periods only
    assert set(
        ScoreSnapshot.objects.filter(period=world.period).values_list("input_hash", flat=True)
    ) == {"dti-inputs/3-old"}
    mark_stale(apps, None)
    assert all(s.stale for s in ScoreState.objects.all())
    assert (world.framework.pk, world.period.pk) in services.score_sweep_stale()
    hashes = set(
        ScoreSnapshot.objects.filter(period=world.period).values_list("input_hash", flat=True)
    )
    assert "dti-inputs/3-old" not in hashes
