"""Scoring writes: recompute requests (coalesced), the recompute itself, national results.

Recompute protocol (one :class:`~scoring.models.ScoreState` row per framework and period):

- :func:`score_recompute_request` (called after commit when scoring inputs change) bumps
  ``requested_seq`` and enqueues the ``recompute_scores`` task, unless one is already queued
  (a cache marker, :func:`queued_marker_key`, set for ``COALESCE_MARKER_TTL`` seconds, cleared by
  the task when it starts). The task is enqueued with a short countdown so that a burst of
  approvals is computed by a handful of runs. If the broker is down the request still
  succeeds: ``enqueue_failed_at`` is recorded, the summary says stale, and the periodic
  ``sweep_stale`` task recomputes it when the worker is back.
- :func:`score_recompute` reads the sequence under a row lock (skips when nothing changed),
  loads all inputs in a fixed number of queries, computes with :mod:`scoring.engine`, and writes
  the snapshots under the row lock again only if no newer run has written meanwhile, so an
  older run never overwrites a newer one.
"""

from __future__ import annotations

import csv
import datetime
import gc
import io
import json
import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, Q, TextField, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from dti_portal.errors import NotFound, ValidationFailed
from evidence.models import ItemExtension, ReportingPeriod, Submission
from indicators.models import Framework, Indicator, Measure

from . import engine
from .models import NationalResult, ScoreKind, ScoreSnapshot, ScoreState

logger = logging.getLogger(__name__)

#: Delay before a queued recompute runs, so that a burst of changes is computed once.
COALESCE_COUNTDOWN = 2
#: Lifetime of the "a recompute is already queued" marker (a safety net if a task is lost).
COALESCE_MARKER_TTL = 60
#: A stale state whose request is older than this (seconds; setting
#: ``SCORING_SWEEP_GRACE_SECONDS``) is swept even if a run is believed queued.
SWEEP_GRACE_SECONDS = 30

_Q12 = Decimal("1e-12")


def queued_marker_key(framework_id: int, period_id: int) -> str:
    return f"scoring:queued:{framework_id}:{period_id}"


def _marker_add(key: str) -> bool:
    """Sets the marker; True when it was not set. A cache outage counts as "not set"."""
    try:
        return bool(cache.add(key, "1", timeout=COALESCE_MARKER_TTL))
    except Exception:  # the cache is best effort (Redis may be down); enqueue anyway
        logger.warning("scoring: cache unavailable for the recompute marker", exc_info=True)
        return True


def marker_clear(framework_id: int, period_id: int) -> None:
    try:
        cache.delete(queued_marker_key(framework_id, period_id))
    except Exception:
        logger.warning("scoring: cache unavailable to clear the recompute marker", exc_info=True)


def _broker_errors() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import OperationalError as KombuOperationalError

    errors: list[type[BaseException]] = [KombuOperationalError, ConnectionError, TimeoutError]
    try:
        import redis.exceptions

        errors.append(redis.exceptions.ConnectionError)
        errors.append(redis.exceptions.TimeoutError)
    except ImportError:  # pragma: no cover - redis is a dependency
        pass
    return tuple(errors)


def _enqueue(framework_id: int, period_id: int, *, countdown: int = COALESCE_COUNTDOWN) -> bool:
    """Publishes the recompute task; on a broker failure records it and returns False."""
    from .tasks import recompute_scores

    try:
        recompute_scores.apply_async(args=(framework_id, period_id), countdown=countdown)
    except _broker_errors() as exc:
        logger.warning("scoring: could not enqueue the recompute (%s); scores are stale", exc)
        _record_failure(framework_id, period_id, f"enqueue: {exc}")
        return False
    except Exception as exc:
        if not recompute_scores.app.conf.task_always_eager:
            raise
        # Eager mode (no broker): the run happened inline and failed. The change that asked
        # for it is committed and must not fail with it; the sweeper retries later.
        logger.exception("scoring: the inline recompute failed; scores are stale")
        _record_failure(framework_id, period_id, f"run: {exc!r}")
        return False
    return True


def _record_failure(framework_id: int, period_id: int, message: str) -> None:
    marker_clear(framework_id, period_id)
    ScoreState.objects.filter(framework_id=framework_id, period_id=period_id).update(
        enqueue_failed_at=timezone.now(), last_error=message[:1000]
    )


def score_recompute_request(*, framework_id: int, period_id: int) -> None:
    """Marks the (framework, period) scores stale and enqueues a coalesced recompute.

    Never raises because of the broker or the cache: the change that triggered it has already
    been committed and must succeed. Called by the ``scores_invalidated`` receiver after commit;
    when called inside a transaction the enqueue waits for the commit.
    """
    state, _created = ScoreState.objects.get_or_create(
        framework_id=framework_id, period_id=period_id
    )
    ScoreState.objects.filter(pk=state.pk).update(
        requested_seq=F("requested_seq") + 1, updated_at=timezone.now()
    )

    def enqueue() -> None:
        if _marker_add(queued_marker_key(framework_id, period_id)):
            _enqueue(framework_id, period_id)

    transaction.on_commit(enqueue)


# --- loading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FrameworkInputs:
    """The framework's part of the inputs (the same for every period): 2 queries."""

    framework: Framework
    mains: list[engine.MainIndexData]
    #: (indicator id, sub-indicator without its period's extensions), in ``sort_key`` order
    subs: list[tuple[int, engine.SubIndicatorData]]
    code_of: dict[int, str]


def _load_framework(framework: Framework) -> _FrameworkInputs:
    nodes = list(
        Indicator.objects.filter(framework=framework, level__in=["main", "sub"])
        .order_by("sort_key")
        .values(
            "id",
            "code",
            "name",
            "level",
            "max_points",
            "parent_id",
            "scoring_rule",
            "lead_agency_id",
        )
    )  # 1
    kinds: dict[int, dict[str, str]] = defaultdict(dict)
    for indicator_id, code, kind in (
        Measure.objects.filter(indicator__framework=framework)
        .order_by("indicator_id", "position", "id")
        .values_list("indicator_id", "code", "kind")
    ):  # 2
        kinds[indicator_id][code] = kind
    by_id = {n["id"]: n for n in nodes}
    mains = [
        engine.MainIndexData(n["code"], n["name"], n["max_points"])
        for n in nodes
        if n["level"] == "main"
    ]
    subs = []
    code_of: dict[int, str] = {}
    for n in nodes:
        if n["level"] != "sub":
            continue
        parent = by_id.get(n["parent_id"])
        code_of[n["id"]] = n["code"]
        sub = engine.SubIndicatorData(
            code=n["code"],
            name=n["name"],
            main_code=parent["code"] if parent else "",
            max_points=n["max_points"],
            rule=n["scoring_rule"] if isinstance(n["scoring_rule"], dict) else {},
            measure_kinds=kinds.get(n["id"], {}),
            lead_agency_id=n["lead_agency_id"],
        )
        subs.append((n["id"], sub))
    return _FrameworkInputs(framework, mains, subs, code_of)


class Inputs(NamedTuple):
    """One period's engine inputs, in the order ``engine.compute_all`` and
    ``engine.input_hash`` take them."""

    framework: engine.FrameworkData
    submissions: list[engine.SubmissionData]
    period: engine.PeriodData
    #: the left-out submissions' counts per state, by sub-indicator code (engine.summarise)
    others: dict[str, dict[str, int]]


def _load_periods(
    fwi: _FrameworkInputs,
    periods: Sequence[ReportingPeriod],
    *,
    today: datetime.date | None = None,
) -> dict[int, Inputs]:
    """The periods' part of the inputs (extensions, submissions), by period id: 3 queries
    whatever the number of periods, agencies and submissions."""
    today = today or timezone.localdate()
    period_ids = [p.pk for p in periods]
    extensions: dict[int, dict[int, dict[int, datetime.date]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for period_id, indicator_id, agency_id, deadline in ItemExtension.objects.filter(
        period_id__in=period_ids
    ).values_list("period_id", "indicator_id", "agency_id", "deadline"):  # 3
        extensions[period_id][indicator_id][agency_id] = deadline
    submissions, others = _load_submissions(fwi.framework, period_ids, fwi.code_of)  # 4, 5
    out = {}
    for period in periods:
        ext = extensions.get(period.pk, {})
        subs = [
            replace(sub, extensions=ext[indicator_id]) if indicator_id in ext else sub
            for indicator_id, sub in fwi.subs
        ]
        out[period.pk] = Inputs(
            engine.FrameworkData(
                total_points=fwi.framework.total_points, mains=list(fwi.mains), subs=subs
            ),
            submissions.get(period.pk, []),
            engine.PeriodData(deadline=period.deadline, today=today),
            others.get(period.pk, {}),
        )
    return out


def load_inputs(
    framework: Framework, period: ReportingPeriod, *, today: datetime.date | None = None
) -> Inputs:
    """Everything a recompute needs, in 5 queries whatever the number of agencies/submissions."""
    return _load_periods(_load_framework(framework), [period], today=today)[period.pk]


def _load_submissions(
    framework: Framework, period_ids: Sequence[int], code_of: dict[int, str]
) -> tuple[dict[int, list[engine.SubmissionData]], dict[int, dict[str, dict[str, int]]]]:
    """The periods' submissions of the framework's sub-indicators, in two queries: the rows the
    engine reads in full (``engine.keeps``: reached the Sở, the consolidation, the lead's own),
    by period and id; and the number of the others in each state, by period and sub-indicator
    code (``engine.summarise``). The others are most of a province (coordinating agencies'
    drafts and contributions still with their lead): they are counted from an index, never
    read (``submission_period_item_state``; the full rows through ``submission_reached_so``).

    ``values`` is read as JSON text only for the submissions whose state counts for some score
    kind (the engine never reads the others'; they get ``{}``), and all rows are decoded by one
    ``json.loads`` of the joined texts: the same objects as the JSONField converter gives row by
    row, at a fraction of the cost.
    """
    counted = sorted(engine.COUNTED_STATES)
    columns = (
        "period_id",
        "id",
        "indicator_id",
        "agency_id",
        "state",
        "is_consolidation",
        "appraised_points",
        "final_points",
    )
    in_periods = Submission.objects.filter(
        period_id__in=period_ids, indicator__framework=framework
    ).order_by()
    reached = in_periods.filter(Q(state__in=counted) | Q(is_consolidation=True)).values_list(
        *columns,
        Cast("values", TextField()),  # counted or the consolidation: values read
    )
    leads_own = (
        in_periods.filter(agency_id=F("indicator__lead_agency_id"))  # NULL lead: none
        .exclude(state__in=counted)
        .exclude(is_consolidation=True)
        .values_list(*columns, Value(None, output_field=TextField()))  # state only
    )
    rows = [row for row in reached.union(leads_own, all=True).order_by("id") if row[2] in code_of]
    decoded = json.loads(
        "[" + ",".join(row[8] if row[4] in counted and row[8] else "null" for row in rows) + "]"
    )
    if len(decoded) != len(rows):  # each text is one JSON document; never expected
        raise ValueError("submission values: one JSON document per row expected")
    built = engine.submissions_from_rows(
        (
            sid,
            code_of[indicator_id],
            agency_id,
            state,
            is_consolidation,
            values if isinstance(values, dict) else {},
            appraised_points,
            final_points,
        )
        for (
            _period_id,
            sid,
            indicator_id,
            agency_id,
            state,
            is_consolidation,
            appraised_points,
            final_points,
            _text,
        ), values in zip(rows, decoded, strict=True)
    )
    submissions: dict[int, list[engine.SubmissionData]] = defaultdict(list)
    others: dict[int, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for period_id, indicator_id, state, n in (
        Submission.objects.filter(period_id__in=period_ids)
        .order_by()
        .values("period_id", "indicator_id", "state")
        .annotate(n=Count("*"))  # not COUNT(id): the index alone answers
        .values_list("period_id", "indicator_id", "state", "n")
    ):
        if indicator_id in code_of:
            others[period_id][code_of[indicator_id]][state] = n
    for row, submission in zip(rows, built, strict=True):
        submissions[row[0]].append(submission)
        counts = others[row[0]][submission.indicator_code]
        counts[submission.state] -= 1  # read in full: not a left-out one
        if not counts[submission.state]:
            del counts[submission.state]
    return dict(submissions), {
        pid: {code: counts for code, counts in by_code.items() if counts}
        for pid, by_code in others.items()
    }


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pauses the cyclic garbage collector while a period's inputs are built and scored.

    Tens of thousands of small objects without reference cycles: otherwise every few hundred
    allocations start a collection, and the older generations walk the whole heap (a quarter of
    a province recompute). Reference counting frees them as usual; collection resumes after.
    """
    if not gc.isenabled():  # already paused (another thread, or the caller)
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# --- the recompute -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecomputeOutcome:
    ran: bool
    wrote: bool
    sequence: int
    reason: str = ""


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
    created_at: datetime.datetime


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
        for pk, period_id, kind, old_sequence, old_hash, created_at in ScoreSnapshot.objects.filter(
            framework_id=framework_id, period_id__in=[r.period_id for r in runs]
        ).values_list("pk", "period_id", "kind", "sequence", "input_hash", "created_at"):
            # not the stored lineage
            existing[period_id][kind] = _Existing(pk, old_sequence, old_hash, created_at)
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
            # Replaced in place (same id, same creation time): one DELETE and one INSERT for all
            # the rows, where bulk_update's CASE per field and row costs more than it saves on
            # these large JSON rows. Nothing refers to a snapshot row; readers see the old rows
            # or the new ones (one transaction).
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
            created_at=old.created_at if old is not None else now,
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


# --- national results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NationalRow:
    province: str
    values: dict[str, Decimal]
    dti: Decimal
    rank: int
    published_dti: Decimal | None
    published_rank: int | None


def _read_table(path: Path) -> list[list[Any]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(_("Tệp CSV phải được mã hóa UTF-8.")) from exc
        return list(csv.reader(io.StringIO(text)))
    if suffix == ".xlsx":
        import openpyxl

        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:
            raise ValidationFailed(
                _("Không đọc được tệp Excel: %(error)s") % {"error": exc}
            ) from exc
        ws = wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        wb.close()
        return rows
    raise ValidationFailed(_("Chỉ nhận tệp .csv hoặc .xlsx."))


def _cell_decimal(raw: Any) -> Decimal | None:
    if raw is None:
        return None
    if isinstance(raw, float):
        raw = repr(raw)
    text = str(raw).strip().replace(",", ".")
    if not text:
        return None
    try:
        d = Decimal(text)
    except Exception:
        return None
    return d if d.is_finite() else None


def parse_national_table(path: Path, framework: Framework) -> list[NationalRow]:
    """Reads a published national table and computes each province's DTI and rank.

    Columns: ``province``, one per scored main-index code (value 0–1), optional ``dti`` and
    ``rank``. Raises ValidationFailed with row-numbered Vietnamese messages when anything is wrong.
    """
    rows = _read_table(path)
    while rows and not any(c not in (None, "") for c in rows[0]):
        rows.pop(0)
    if not rows:
        raise ValidationFailed(_("Tệp không có dữ liệu."))
    header = [str(c).strip().rstrip(".").lower() if c is not None else "" for c in rows[0]]
    weights = dict(
        Indicator.objects.filter(framework=framework, level="main")
        .order_by("sort_key")
        .values_list("code", "max_points")
    )
    scored = {c: w for c, w in weights.items() if w > 0}
    total = sum(scored.values(), Decimal(0))
    errors: list[str] = []
    if not scored or total <= 0:
        raise ValidationFailed(_("Bộ chỉ số chưa có chỉ số chính có điểm."))
    col: dict[str, int] = {}
    for i, name in enumerate(header):
        if name and name not in col:
            col[name] = i
    if "province" not in col:
        errors.append(_("Thiếu cột “province” (tỉnh, thành phố)."))
    missing = [c for c in scored if c.lower().rstrip(".") not in col]
    if missing:
        errors.append(_("Thiếu cột của chỉ số chính: %(codes)s.") % {"codes": ", ".join(missing)})
    if errors:
        raise ValidationFailed(" ".join(errors), errors={"file": errors})
    parsed: list[tuple[str, dict[str, Decimal], Decimal | None, int | None]] = []
    seen: set[str] = set()
    for number, row in enumerate(rows[1:], start=2):
        if not any(c not in (None, "") for c in row):
            continue
        cells = list(row) + [None] * (len(header) - len(row))
        province = str(cells[col["province"]] or "").strip()
        if not province:
            errors.append(_("Dòng %(row)d: thiếu tên tỉnh, thành phố.") % {"row": number})
            continue
        if province.lower() in seen:
            errors.append(
                _("Dòng %(row)d: tỉnh “%(p)s” bị trùng.") % {"row": number, "p": province}
            )
        seen.add(province.lower())
        values: dict[str, Decimal] = {}
        for code in scored:
            raw = cells[col[code.lower().rstrip(".")]]
            d = _cell_decimal(raw)
            if d is None or d < 0 or d > 1:
                errors.append(
                    _("Dòng %(row)d, cột %(code)s: giá trị “%(v)s” phải là số từ 0 đến 1.")
                    % {"row": number, "code": code, "v": "" if raw is None else raw}
                )
            else:
                values[code] = d
        published_dti = published_rank = None
        if "dti" in col and cells[col["dti"]] not in (None, ""):
            published_dti = _cell_decimal(cells[col["dti"]])
            if published_dti is None:
                errors.append(_("Dòng %(row)d: cột dti không phải là số.") % {"row": number})
        if "rank" in col and cells[col["rank"]] not in (None, ""):
            r = _cell_decimal(cells[col["rank"]])
            if r is None or r != r.to_integral_value() or r < 1:
                errors.append(
                    _("Dòng %(row)d: cột rank phải là số nguyên dương.") % {"row": number}
                )
            else:
                published_rank = int(r)
        parsed.append((province, values, published_dti, published_rank))
    if not parsed and not errors:
        errors.append(_("Tệp không có dòng dữ liệu nào."))
    if errors:
        raise ValidationFailed(" ".join(errors[:20]), errors={"file": errors})
    dtis = [engine.weighted_dti(v, scored, total) for _p, v, _d, _r in parsed]
    ranks = engine.competition_ranks(dtis)
    return [
        NationalRow(p, v, d, r, pd_, pr)
        for (p, v, pd_, pr), d, r in zip(parsed, dtis, ranks, strict=True)
    ]


@transaction.atomic
def national_results_import(
    *, path: Path, framework_code: str, year: int, actor: Any = None
) -> list[NationalRow]:
    """Imports (replaces) the national results of ``year``: all rows or nothing."""
    from agencies.models import AuditEvent

    try:
        framework = Framework.objects.get(code=framework_code)
    except Framework.DoesNotExist as exc:
        raise NotFound(_("Không có bộ chỉ số mã “%(code)s”.") % {"code": framework_code}) from exc
    rows = parse_national_table(path, framework)
    NationalResult.objects.filter(framework=framework, year=year).delete()
    NationalResult.objects.bulk_create(
        [
            NationalResult(
                framework=framework,
                year=year,
                province=r.province,
                main_values={k: format(v, "f") for k, v in r.values.items()},
                dti=_q(r.dti),
                rank=r.rank,
                published_dti=r.published_dti,
                published_rank=r.published_rank,
            )
            for r in rows
        ]
    )
    AuditEvent.objects.create(
        actor=actor,
        actor_role=getattr(actor, "role", "") or "",
        action="national_results.import",
        object_type="framework",
        object_id=str(framework.pk),
        object_repr=f"{framework.code} {year}"[:255],
        data={"file": path.name, "rows": len(rows), "year": year},
    )
    return rows


__all__ = [
    "COALESCE_COUNTDOWN",
    "Inputs",
    "NationalRow",
    "RecomputeOutcome",
    "ScoreKind",
    "load_inputs",
    "marker_clear",
    "national_results_import",
    "parse_national_table",
    "queued_marker_key",
    "score_recompute",
    "score_recompute_all",
    "score_recompute_request",
    "score_sweep_stale",
]
