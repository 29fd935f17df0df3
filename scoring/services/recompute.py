"""The recompute (one :class:`~scoring.models.ScoreState` row per framework and period).

:func:`score_recompute` reads the sequence under a row lock (skips when nothing changed), loads
all inputs in a fixed number of queries, computes with :mod:`scoring.engine`, and writes the
snapshots under the row lock again only if no newer run has written meanwhile, so an older run
never overwrites a newer one.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from evidence.models import ReportingPeriod
from indicators.models import Framework

from .. import engine
from ..models import ScoreSnapshot, ScoreState
from .loading import _gc_paused, _load_framework, _load_periods, load_inputs
from .requests import SWEEP_GRACE_SECONDS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecomputeOutcome:
    ran: bool
    wrote: bool
    sequence: int
    reason: str = ""


#: Scores are stored with 12 decimal places (scoring.models.FULL).
_Q12 = Decimal("1e-12")


def _q(d: Decimal) -> Decimal:
    return d.quantize(_Q12)


def _lock_state(framework_id: int, period_id: int) -> ScoreState:
    """The (framework, period) bookkeeping row, locked until the end of the transaction."""
    state = (
        ScoreState.objects.select_for_update()
        .filter(framework_id=framework_id, period_id=period_id)
        .first()
    )
    if state is None:
        created, _created = ScoreState.objects.get_or_create(
            framework_id=framework_id, period_id=period_id
        )
        state = ScoreState.objects.select_for_update().get(pk=created.pk)
    return state


@dataclass(frozen=True)
class _Computed:
    """One period's run, ready to be written: the sequence it started from and its results."""

    state_pk: int
    period_id: int
    sequence: int
    results: dict[str, engine.ScoreResult]
    digest: str


@dataclass
class _Writes:
    """The rows a store writes, gathered over its runs and written in bulk (a fixed number of
    queries whatever the number of periods)."""

    created: list[ScoreSnapshot] = field(default_factory=list)
    rewritten: list[ScoreSnapshot] = field(default_factory=list)
    renumbered: list[ScoreSnapshot] = field(default_factory=list)
    states: list[ScoreState] = field(default_factory=list)


class _Existing(NamedTuple):
    """What a store needs of a stored snapshot (not its lineage)."""

    pk: int
    sequence: int
    input_hash: str


def _store(
    framework_id: int, runs: list[_Computed], *, force: bool, has_snapshots: bool = False
) -> list[RecomputeOutcome]:
    """Writes the snapshots of each run in one transaction, under the runs' state row locks
    (taken in one order), unless a run that started from a newer sequence has written
    meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        states = {
            s.pk: s
            for s in ScoreState.objects.select_for_update()
            .filter(pk__in=[r.state_pk for r in runs])
            .order_by("pk")  # one lock order for every run: no deadlock between runs
        }
        existing: dict[int, dict[str, _Existing]] = defaultdict(dict)
        for pk, period_id, kind, old_sequence, old_hash in ScoreSnapshot.objects.filter(
            framework_id=framework_id, period_id__in=[r.period_id for r in runs]
        ).values_list("pk", "period_id", "kind", "sequence", "input_hash"):
            # not the stored lineage
            existing[period_id][kind] = _Existing(pk, old_sequence, old_hash)
        writes = _Writes()
        outcomes = [
            _store_locked(
                framework_id,
                run,
                states[run.state_pk],
                existing[run.period_id],
                now,
                writes,
                force=force,
                has_snapshots=has_snapshots,
            )
            if run.state_pk in states
            else RecomputeOutcome(True, False, run.sequence, "not_found")  # period deleted
            for run in runs
        ]
        # Locked by the state rows: nobody else writes these snapshots meanwhile.
        if writes.rewritten:
            # Replaced (same id; created_at is the replacement's, as the row holds a new
            # computation): one DELETE and one INSERT for all the rows, where bulk_update's CASE
            # per field and row costs more than it saves on these large JSON rows. Nothing refers
            # to a snapshot row; readers see the old rows or the new ones (one transaction).
            ScoreSnapshot.objects.filter(pk__in=[s.pk for s in writes.rewritten]).delete()
        if writes.created or writes.rewritten:
            ScoreSnapshot.objects.bulk_create(writes.rewritten + writes.created)
        if writes.renumbered:
            ScoreSnapshot.objects.bulk_update(writes.renumbered, ["sequence", "updated_at"])
        if writes.states:
            ScoreState.objects.bulk_update(
                writes.states,
                ["computed_seq", "runs", "enqueue_failed_at", "last_error", "updated_at"],
            )
        return outcomes


def _store_locked(
    framework_id: int,
    run: _Computed,
    state: ScoreState,
    existing: dict[str, _Existing],
    now: datetime.datetime,
    writes: _Writes,
    *,
    force: bool,
    has_snapshots: bool,
) -> RecomputeOutcome:
    """One run's part of a store: what to write into ``writes``, and its outcome."""
    sequence = run.sequence
    if state.computed_seq > sequence or (
        state.computed_seq == sequence and not force and has_snapshots
    ):
        return RecomputeOutcome(True, False, sequence, "newer_exists")
    for kind, res in run.results.items():
        old = existing.get(kind)
        if old is not None and old.sequence > sequence:
            continue
        if old is not None and old.input_hash == run.digest:
            # Same inputs → same snapshot; only the sequence moves on.
            writes.renumbered.append(ScoreSnapshot(pk=old.pk, sequence=sequence, updated_at=now))
            continue
        snapshot = ScoreSnapshot(
            pk=old.pk if old is not None else None,
            framework_id=framework_id,
            period_id=run.period_id,
            kind=kind,
            total_points=_q(res.total_points),
            dti=_q(res.dti),
            points_at_risk=_q(res.points_at_risk),
            max_reachable=_q(res.max_reachable),
            main_indices=res.main_indices,
            lineage=res.lineage,
            agencies=res.agencies,
            input_hash=run.digest,
            sequence=sequence,
            computed_at=now,
            created_at=now,
            updated_at=now,
        )
        (writes.rewritten if old is not None else writes.created).append(snapshot)
    state.computed_seq = max(sequence, state.computed_seq)
    state.runs = F("runs") + 1
    state.enqueue_failed_at = None
    state.last_error = ""
    state.updated_at = now
    writes.states.append(state)
    return RecomputeOutcome(True, True, sequence)


def score_recompute(
    *, framework_id: int, period_id: int, force: bool = False, today: datetime.date | None = None
) -> RecomputeOutcome:
    """Recomputes the three kinds of scores of one (framework, period) and stores the snapshots.

    Skips when nothing changed since the last run (``computed_seq >= requested_seq``) unless
    ``force``; never overwrites snapshots written by a run that started from a newer sequence.
    Idempotent: the same inputs give the same snapshot (``input_hash``).
    """
    with transaction.atomic():
        state = _lock_state(framework_id, period_id)
        # Only an unforced run looks at whether snapshots exist (a forced one always writes).
        has_snapshots = (
            not force
            and ScoreSnapshot.objects.filter(
                framework_id=framework_id, period_id=period_id
            ).exists()
        )
        if not force and has_snapshots and state.computed_seq >= state.requested_seq:
            return RecomputeOutcome(False, False, state.computed_seq, "up_to_date")
        sequence = state.requested_seq

    try:  # the period's framework comes with it (one query)
        period = ReportingPeriod.objects.select_related("framework").get(
            pk=period_id, framework_id=framework_id
        )
    except ReportingPeriod.DoesNotExist:
        return RecomputeOutcome(False, False, sequence, "not_found")
    with _gc_paused():
        inputs = load_inputs(period.framework, period, today=today)
        run = _Computed(
            state.pk,
            period_id,
            sequence,
            engine.compute_all(*inputs),
            engine.input_hash(*inputs),
        )
    return _store(framework_id, [run], force=force, has_snapshots=has_snapshots)[0]


def _recompute_framework(framework_id: int, period_ids: list[int]) -> list[RecomputeOutcome]:
    """Forced recompute of several periods of one framework: the same protocol as
    :func:`score_recompute` (sequence read under the lock *before* any input is loaded, write
    under the lock again only if no newer run has written), with the framework's part of the
    inputs loaded once for all the periods and the bookkeeping done in bulk."""
    states = ScoreState.objects.filter(framework_id=framework_id, period_id__in=period_ids)
    missing = set(period_ids) - set(states.values_list("period_id", flat=True))
    for pid in sorted(missing):
        ScoreState.objects.get_or_create(framework_id=framework_id, period_id=pid)
    states.update(requested_seq=F("requested_seq") + 1)
    with transaction.atomic():
        locked = {
            s.period_id: s for s in states.select_for_update().order_by("pk")
        }  # one lock order for every run: no deadlock between concurrent runs
        sequences = {pid: (s.pk, s.requested_seq) for pid, s in locked.items()}
    try:
        framework = Framework.objects.get(pk=framework_id)
    except Framework.DoesNotExist:
        return [
            RecomputeOutcome(False, False, sequences.get(p, (0, 0))[1], "not_found")
            for p in period_ids
        ]
    periods = ReportingPeriod.objects.filter(framework_id=framework_id).in_bulk(period_ids)
    outcomes: dict[int, RecomputeOutcome] = {}
    runs = []
    with _gc_paused():
        loaded = _load_periods(
            _load_framework(framework), [periods[pid] for pid in period_ids if pid in periods]
        )
        for pid in period_ids:
            state_pk, sequence = sequences.get(pid, (0, 0))
            inputs = loaded.get(pid)
            if inputs is None or not state_pk:  # deleted meanwhile
                outcomes[pid] = RecomputeOutcome(False, False, sequence, "not_found")
                continue
            results = engine.compute_all(*inputs)
            runs.append(_Computed(state_pk, pid, sequence, results, engine.input_hash(*inputs)))
    # One write transaction (one commit) for all the periods: each still checks its sequence.
    if runs:
        outcomes.update(
            zip([r.period_id for r in runs], _store(framework_id, runs, force=True), strict=True)
        )
    return [outcomes[pid] for pid in period_ids]


def score_recompute_all(
    *, framework: Framework | None = None, period_id: int | None = None, open_only: bool = False
) -> list[tuple[int, int, RecomputeOutcome]]:
    """Synchronous recompute of every (framework, period) selected (``recompute_scores``)."""
    periods = ReportingPeriod.objects.all().order_by(
        "framework_id", "year", F("quarter").asc(nulls_last=True)
    )
    if framework is not None:
        periods = periods.filter(framework=framework)
    if period_id is not None:
        periods = periods.filter(pk=period_id)
    if open_only:
        periods = periods.filter(status=ReportingPeriod.Status.OPEN)
    out = []
    for fid, pairs in groupby(periods.values_list("framework_id", "id"), key=itemgetter(0)):
        pids = [pid for _fid, pid in pairs]
        outcomes = _recompute_framework(fid, pids)
        out += [(fid, pid, o) for pid, o in zip(pids, outcomes, strict=True)]
    return out


def score_sweep_stale(*, grace: datetime.timedelta | None = None) -> list[tuple[int, int]]:
    """Recomputes every stale (framework, period) whose enqueue failed or that has waited longer
    than ``grace`` (a lost task, a worker killed mid-run). Returns the pairs recomputed."""
    if grace is None:
        seconds = getattr(settings, "SCORING_SWEEP_GRACE_SECONDS", SWEEP_GRACE_SECONDS)
        grace = datetime.timedelta(seconds=seconds)
    cutoff = timezone.now() - grace
    stale = ScoreState.objects.filter(computed_seq__lt=F("requested_seq")).filter(
        Q(enqueue_failed_at__isnull=False) | Q(updated_at__lt=cutoff)
    )
    done = []
    for fid, pid in stale.values_list("framework_id", "period_id"):
        score_recompute(framework_id=fid, period_id=pid)
        done.append((fid, pid))
    return done
