"""The recompute's inputs, loaded in a fixed number of queries whatever the province's size."""

from __future__ import annotations

import datetime
import gc
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import NamedTuple

from django.db.models import Count, F, Q, TextField, Value
from django.db.models.functions import Cast
from django.utils import timezone

from evidence.models import ItemExtension, ReportingPeriod, Submission
from indicators.models import Framework, Indicator, Measure

from .. import engine


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
        _uncount(others[row[0]][submission.indicator_code], submission.state)
    return dict(submissions), {
        pid: {code: counts for code, counts in by_code.items() if counts}
        for pid, by_code in others.items()
    }


def _uncount(counts: dict[str, int], state: str) -> None:
    """Takes a row read in full out of its state's count (what is left are the left-out rows).

    The two queries are two statements: a submission that changed state between them is read
    in one state and counted in another. Counts never go below zero; such a run is superseded by
    the recompute that change requested (its sequence is newer), like any run that loaded while
    data changed."""
    left = counts.get(state, 0) - 1
    if left > 0:
        counts[state] = left
    else:
        counts.pop(state, None)


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
