"""The scoring engine: pure functions from plain data (framework tree, submissions) to scores.

No ORM here: :mod:`scoring.services` loads the data in a fixed number of queries and stores the
result. Everything is ``Decimal`` at full precision; rounding is for display only.

Per sub-indicator, for each score kind:

1. The submissions that count: ``self_assessed`` uses those that reached the Sở (submitted,
   under review, approved); ``appraised`` and ``final`` use approved ones only.
2. The values: the lead agency's consolidated submission (``is_consolidation``) when it counts;
   otherwise the counting submissions' values combined with
   :func:`indicators.scoring_rules.combine_values` (Σ numerators / Σ denominators, sums, …).
3. The points: the rule applied to those values. ``appraised``: the reviewer's
   ``appraised_points`` on the *answering* submission (the consolidation, else the lead agency's
   own submission, else the only one) replaces the rule's points when set. ``final``: the
   council's ``final_points`` when set, else the appraised points. A recorded decision equal
   to the rule's points at 4 decimals (submissions store points to 4 decimals; approving
   without a change copies the self-assessed points) confirms the rule's full-precision points
   instead of replacing them (lineage ``basis`` "values"; otherwise "appraised" or "final").

Main index: points = Σ its sub-indicators; value = points ÷ max (a 0-point index has value 0 and
does not count towards the DTI). DTI = Σ main points ÷ framework total (1000).

Points at risk: the max points of every scored sub-indicator not yet approved (risk reason
``missing`` when nothing reached the Sở, ``overdue`` when that is still so after the deadline,
``returned``, ``not_approved`` when submitted or under review). Max still reachable: the
kind's points of approved sub-indicators plus the max points of the others.

Explanations: each lineage entry has the Vietnamese sentence (``explanation``, ``warnings``:
stored, exported) and the same structured (``explanation_msg``, ``warning_msgs``:
:class:`indicators.scoring_rules.Msg` as JSON) for display in the reader's language.

Left-out submissions: of a submission that counts for no kind, is not the consolidation and is
not the lead agency's own, only the state is ever read (for the risk reason and the state
label). A province has tens of thousands of them (coordinating agencies' drafts and
contributions still with their lead), so a loader may pass them as counts per state
(``others``: sub-indicator code → state → count) instead of rows: :func:`summarise` is the rule,
and the results are the same either way.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal, localcontext
from operator import attrgetter
from typing import Any

from django.utils.translation import gettext_noop

from indicators.scoring_rules import (
    Msg,
    combine_values,
    evaluate_rule,
    round_display,
    to_decimal,
)

SELF_ASSESSED = "self_assessed"
APPRAISED = "appraised"
FINAL = "final"
KINDS: tuple[str, ...] = (SELF_ASSESSED, APPRAISED, FINAL)

# Submission states (evidence.models.Submission.State values; kept as strings: pure module).
DRAFT = "draft"
SUBMITTED_TO_LEAD = "submitted_to_lead"
SUBMITTED = "submitted"
UNDER_REVIEW = "under_review"
APPROVED = "approved"
RETURNED = "returned"

COUNTING_STATES: dict[str, frozenset[str]] = {
    SELF_ASSESSED: frozenset({SUBMITTED, UNDER_REVIEW, APPROVED}),
    APPRAISED: frozenset({APPROVED}),
    FINAL: frozenset({APPROVED}),
}
#: States that count for at least one kind: only these submissions' values and decisions are
#: read; of the others only the state, agency and consolidation flag matter (risk, state label).
COUNTED_STATES: frozenset[str] = frozenset().union(*COUNTING_STATES.values())

_ZERO = Decimal(0)
_PREC = 40
_NO_DATA = Msg(gettext_noop("Chưa có số liệu được tính cho loại điểm này."))


@dataclass(frozen=True)
class MainIndexData:
    code: str
    name: str
    max_points: Decimal


@dataclass(frozen=True)
class SubIndicatorData:
    code: str
    name: str
    main_code: str
    max_points: Decimal
    rule: Mapping[str, Any]
    measure_kinds: Mapping[str, str]
    lead_agency_id: int | None
    # (agency id) → extended deadline for this sub-indicator (ItemExtension), if any
    extensions: Mapping[int, datetime.date] = field(default_factory=dict)


@dataclass(frozen=True)
class SubmissionData:
    id: int
    indicator_code: str
    agency_id: int
    state: str
    is_consolidation: bool
    values: Mapping[str, Any]
    appraised_points: Decimal | None = None
    final_points: Decimal | None = None


_SUBMISSION_FIELD_NAMES = (
    "id",
    "indicator_code",
    "agency_id",
    "state",
    "is_consolidation",
    "values",
    "appraised_points",
    "final_points",
)
if tuple(f.name for f in fields(SubmissionData)) != _SUBMISSION_FIELD_NAMES:  # pragma: no cover
    raise RuntimeError("SubmissionData's fields changed: update submissions_from_rows")


def submissions_from_rows(rows: Iterable[Sequence[Any]]) -> list[SubmissionData]:
    """``SubmissionData`` from rows in field order, for loaders of tens of thousands of rows.

    The same (equal, frozen) objects as ``SubmissionData(*row)``, without the frozen
    ``__init__``'s per-field ``object.__setattr__`` (three times slower). The rows are the
    loader's own fresh values: nothing is validated here that the constructor would check.
    """
    out = []
    new = object.__new__
    for row in rows:
        obj = new(SubmissionData)
        d = obj.__dict__
        (
            d["id"],
            d["indicator_code"],
            d["agency_id"],
            d["state"],
            d["is_consolidation"],
            d["values"],
            d["appraised_points"],
            d["final_points"],
        ) = row
        out.append(obj)
    return out


@dataclass(frozen=True)
class FrameworkData:
    total_points: Decimal
    mains: Sequence[MainIndexData]
    subs: Sequence[SubIndicatorData]


#: Per sub-indicator code, the number of left-out submissions in each state (see the module
#: docstring and :func:`summarise`).
StateCounts = Mapping[str, Mapping[str, int]]
_NO_COUNTS: Mapping[str, int] = {}


def keeps(sub: SubIndicatorData, submission: SubmissionData) -> bool:
    """Whether the engine may read more than the state of this submission of ``sub``: its state
    counts for some kind, or it is the consolidation or the lead agency's own (they answer to
    the Sở whatever their state). The loader's SQL applies the same test."""
    return (
        submission.state in COUNTED_STATES
        or submission.is_consolidation
        or (sub.lead_agency_id is not None and submission.agency_id == sub.lead_agency_id)
    )


@dataclass(frozen=True)
class PeriodData:
    deadline: datetime.date
    today: datetime.date


@dataclass
class ScoreResult:
    """One kind's score: what a ScoreSnapshot stores (decimal strings in the JSON parts)."""

    kind: str
    total_points: Decimal
    dti: Decimal
    points_at_risk: Decimal
    max_reachable: Decimal
    main_indices: list[dict[str, Any]]
    lineage: dict[str, dict[str, Any]]
    agencies: list[dict[str, Any]]


def _s(d: Decimal | None) -> str | None:
    """A Decimal as a JSON string at full precision (no exponent)."""
    if d is None:
        return None
    return format(d, "f")


def _json_value(v: Any) -> Any:
    if isinstance(v, Decimal):
        return _s(v)
    return v


def _risk(
    sub: SubIndicatorData, states: set[str], answering_state: str | None, period: PeriodData
) -> tuple[bool, str]:
    """(at risk, reason) from the states of all the sub-indicator's submissions and the state of
    the one answering to the Sở (if any)."""
    if sub.max_points <= 0:
        return False, ""
    if answering_state == APPROVED:
        return False, ""
    if answering_state is None and states and states <= {APPROVED}:
        return False, ""
    if RETURNED in states:
        return True, "returned"
    if states & {SUBMITTED, UNDER_REVIEW}:
        return True, "not_approved"
    deadline = period.deadline
    if sub.lead_agency_id is not None and sub.lead_agency_id in sub.extensions:
        deadline = max(deadline, sub.extensions[sub.lead_agency_id])
    if period.today > deadline:
        return True, "overdue"
    return True, "missing"


def _answering(
    sub: SubIndicatorData, subs: Sequence[SubmissionData], total: int
) -> SubmissionData | None:
    """The submission that answers to the Sở: the consolidation, the lead's own, or the only one
    (``total`` submissions in all, left-out ones included)."""
    for s in subs:
        if s.is_consolidation:
            return s
    for s in subs:
        if sub.lead_agency_id is not None and s.agency_id == sub.lead_agency_id:
            return s
    return subs[0] if total == 1 and len(subs) == 1 else None


def _answering_state(
    sub: SubIndicatorData, subs: Sequence[SubmissionData], others: Mapping[str, int]
) -> str | None:
    """The state of the submission answering to the Sở, if it is one of ``subs``. When the only
    submission is a left-out one, None gives the same risk and label as its state would: that
    state is never approved and is the only one in the states."""
    answering = _answering(sub, subs, len(subs) + sum(others.values()))
    return None if answering is None else answering.state


def _same_at_display(decided: Decimal, rule_points: Decimal) -> bool:
    """A recorded decision equal to the rule's points at 4 decimals (how submissions store
    points) confirms them rather than overriding them."""
    return round_display(decided, 4) == round_display(rule_points, 4)


_STATE_ORDER = [RETURNED, DRAFT, SUBMITTED_TO_LEAD, SUBMITTED, UNDER_REVIEW, APPROVED]


def _state_label(states: set[str], answering_state: str | None) -> str:
    if answering_state is not None:
        return answering_state
    if not states:
        return "missing"
    return min(states, key=lambda st: _STATE_ORDER.index(st) if st in _STATE_ORDER else 0)


def _evaluate_kinds(
    sub: SubIndicatorData,
    subs: Sequence[SubmissionData],
    others: Mapping[str, int],
    period: PeriodData,
    kinds: Sequence[str] = KINDS,
) -> dict[str, tuple[dict[str, Any], Decimal]]:
    """Per kind, the lineage entry of one sub-indicator (values used → rule → points) and its
    points. What does not depend on the kind (risk, state) is worked out once, and the rule once
    per distinct set of submissions used (usually one set for all three kinds)."""
    states = {s.state for s in subs}
    states.update(state for state, n in others.items() if n)
    answering_state = _answering_state(sub, subs, others)
    at_risk, reason = _risk(sub, states, answering_state, period)
    label = _state_label(states, answering_state)
    evaluated: dict[tuple[int, ...], tuple[Any, dict[str, Any], str, Msg | None, list[Any]]] = {}
    out = {}
    for kind in kinds:
        counting_states = COUNTING_STATES[kind]
        counting = [s for s in subs if s.state in counting_states]
        consolidation = next((s for s in counting if s.is_consolidation), None)
        used = [consolidation] if consolidation is not None else sorted(counting, key=_BY_ID)
        key = tuple(s.id for s in used)
        done = evaluated.get(key)
        if done is None:
            values: Mapping[str, Any]
            if len(used) == 1:  # the consolidation, or the only submission that counts
                values = {code: used[0].values.get(code) for code in sub.measure_kinds}
            else:
                values = combine_values(sub.rule, sub.measure_kinds, [s.values for s in used])
            result = evaluate_rule(sub.rule, values, sub.max_points)
            json_values = {k: _json_value(v) for k, v in values.items()}
            done = evaluated[key] = (
                result,
                json_values,
                _s(result.points) or "0",
                result.explanation_msg,
                [w.as_json() for w in result.warning_msgs],
            )
        result, json_values, rule_points, rule_msg, warning_msgs = done
        points = result.points
        basis = "values"
        message = rule_msg
        answering = _answering(sub, used, len(used))
        if used and kind in (APPRAISED, FINAL) and answering is not None:
            decided = None
            if kind == FINAL and answering.final_points is not None:
                decided, basis = answering.final_points, "final"
                who = gettext_noop(
                    "Điểm cuối cùng do Hội đồng thẩm định quyết định: %(points)s (theo số liệu: %(detail)s)"
                )
            elif answering.appraised_points is not None:
                decided, basis = answering.appraised_points, "appraised"
                who = gettext_noop(
                    "Điểm thẩm định do Sở KH&CN quyết định: %(points)s (theo số liệu: %(detail)s)"
                )
            if decided is not None and _same_at_display(decided, result.points):
                # The decision confirms the rule's points (stored to 4 decimals): keep full
                # precision.
                basis = "values"
            elif decided is not None:
                points = min(max(decided, _ZERO), sub.max_points)
                message = Msg(who, points=points, detail=rule_msg or result.explanation)
        if not used:
            message = _NO_DATA
        entry = {
            "main_code": sub.main_code,
            "name": sub.name,
            "max_points": _s(sub.max_points),
            "rule": dict(sub.rule),
            "values": dict(json_values),
            "points": rule_points if points is result.points else _s(points),
            "rule_points": rule_points,
            "basis": basis,
            "explanation": result.explanation if message is rule_msg else str(message),
            "explanation_msg": message.as_json() if message is not None else None,
            "warnings": list(result.warnings),
            "warning_msgs": list(warning_msgs),
            "complete": result.complete and bool(used),
            "state": label,
            "submission_ids": list(key),
            "lead_agency_id": sub.lead_agency_id,
            "contributors": sorted({s.agency_id for s in used}),
            "at_risk": at_risk,
            "risk_reason": reason,
        }
        out[kind] = (entry, points)
    return out


def evaluate_sub(
    kind: str,
    sub: SubIndicatorData,
    subs: Sequence[SubmissionData],
    period: PeriodData,
    others: Mapping[str, int] = _NO_COUNTS,
) -> dict[str, Any]:
    """The lineage entry of one sub-indicator for one kind (values used → rule → points)."""
    with localcontext() as ctx:
        ctx.prec = _PREC
        return _evaluate_kinds(sub, subs, others, period, (kind,))[kind][0]


def summarise(
    framework: FrameworkData, submissions: Iterable[SubmissionData]
) -> tuple[list[SubmissionData], dict[str, dict[str, int]]]:
    """The submissions the engine reads in full (:func:`keeps`) and the counts per state of the
    others, by sub-indicator code: what a loader may pass instead of every row."""
    by_code = {sub.code: sub for sub in framework.subs}
    kept: list[SubmissionData] = []
    others: dict[str, dict[str, int]] = defaultdict(dict)
    for s in submissions:
        sub = by_code.get(s.indicator_code)
        if sub is None or keeps(sub, s):
            kept.append(s)
        else:
            counts = others[s.indicator_code]
            counts[s.state] = counts.get(s.state, 0) + 1
    return kept, dict(others)


def compute_kind(
    kind: str,
    framework: FrameworkData,
    submissions: Iterable[SubmissionData],
    period: PeriodData,
    others: StateCounts | None = None,
) -> ScoreResult:
    """One kind's full score for the province (see the module docstring)."""
    return compute_all(framework, list(submissions), period, others, kinds=(kind,))[kind]


def _by_code(submissions: Iterable[SubmissionData]) -> dict[str, list[SubmissionData]]:
    by_code: dict[str, list[SubmissionData]] = defaultdict(list)
    for s in submissions:
        by_code[s.indicator_code].append(s)
    return by_code


def _new_agency_row() -> dict[str, Decimal | int]:
    return {
        "assigned_points": _ZERO,
        "points": _ZERO,
        "items": 0,
        "approved": 0,
        "returned": 0,
        "overdue": 0,
        "missing": 0,
        "not_approved": 0,
    }


def _result(
    kind: str,
    framework: FrameworkData,
    evaluated: Sequence[tuple[SubIndicatorData, dict[str, Any], Decimal]],
) -> ScoreResult:
    """One kind's totals from its sub-indicators' lineage entries and points (precision set by
    the caller)."""
    lineage: dict[str, dict[str, Any]] = {}
    main_points: dict[str, Decimal] = defaultdict(lambda: _ZERO)
    at_risk_total = _ZERO
    reachable = _ZERO
    agency_rows: dict[int, dict[str, Decimal | int]] = {}
    for sub, entry, pts in evaluated:
        lineage[sub.code] = entry
        main_points[sub.main_code] += pts
        if entry["at_risk"]:
            at_risk_total += sub.max_points
            reachable += sub.max_points
        else:
            reachable += pts
        if sub.lead_agency_id is not None and sub.max_points > 0:
            row = agency_rows.get(sub.lead_agency_id)
            if row is None:
                row = agency_rows[sub.lead_agency_id] = _new_agency_row()
            row["assigned_points"] += sub.max_points
            row["points"] += pts
            row["items"] += 1
            row[entry["risk_reason"] or "approved"] += 1
    mains = []
    total = _ZERO
    for main in framework.mains:
        pts = main_points.get(main.code, _ZERO)
        value = pts / main.max_points if main.max_points > 0 else _ZERO
        if main.max_points > 0:
            total += pts
        mains.append(
            {
                "code": main.code,
                "name": main.name,
                "points": _s(pts),
                "max_points": _s(main.max_points),
                "value": _s(value),
            }
        )
    dti = total / framework.total_points if framework.total_points > 0 else _ZERO
    agencies = [
        {
            "agency_id": agency_id,
            **{k: (_s(v) if isinstance(v, Decimal) else v) for k, v in row.items()},
            "share": _s(
                Decimal(row["points"]) / Decimal(row["assigned_points"])
                if row["assigned_points"]
                else _ZERO
            ),
        }
        for agency_id, row in sorted(agency_rows.items())
    ]
    return ScoreResult(
        kind=kind,
        total_points=total,
        dti=dti,
        points_at_risk=at_risk_total,
        max_reachable=reachable,
        main_indices=mains,
        lineage=lineage,
        agencies=agencies,
    )


def compute_all(
    framework: FrameworkData,
    submissions: Sequence[SubmissionData],
    period: PeriodData,
    others: StateCounts | None = None,
    *,
    kinds: Sequence[str] = KINDS,
) -> dict[str, ScoreResult]:
    """The three kinds' scores (self-assessed, appraised, final). ``others``: the left-out
    submissions' counts per state (see :func:`summarise`); the results equal those computed
    from every row."""
    by_code = _by_code(submissions)
    counts = others or {}
    with localcontext() as ctx:
        ctx.prec = _PREC
        per_kind: dict[str, list[tuple[SubIndicatorData, dict[str, Any], Decimal]]] = {
            kind: [] for kind in kinds
        }
        for sub in framework.subs:
            evaluated = _evaluate_kinds(
                sub, by_code.get(sub.code, ()), counts.get(sub.code, _NO_COUNTS), period, kinds
            )
            for kind, (entry, points) in evaluated.items():
                per_kind[kind].append((sub, entry, points))
        return {kind: _result(kind, framework, per_kind[kind]) for kind in kinds}


def _hash_default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return _s(o)
    if isinstance(o, datetime.date):
        return o.isoformat()
    if isinstance(o, Mapping):
        return dict(o)
    raise TypeError(type(o))


def _field_getter(cls: type) -> Any:
    """All the dataclass's fields, in declaration order, as one tuple: a field added to an input
    dataclass is hashed without touching :func:`input_hash`."""
    return attrgetter(*(f.name for f in fields(cls)))


_MAIN_FIELDS = _field_getter(MainIndexData)
_SUB_FIELDS = _field_getter(SubIndicatorData)
_SUBMISSION_FIELDS = _field_getter(SubmissionData)
_PERIOD_FIELDS = _field_getter(PeriodData)
_BY_ID = attrgetter("id")
#: Changes whenever the canonical form below changes (a new form never matches an old hash).
_HASH_FORMAT = "dti-inputs/3"


def input_hash(
    framework: FrameworkData,
    submissions: Sequence[SubmissionData],
    period: PeriodData,
    others: StateCounts | None = None,
) -> str:
    """A SHA-256 of everything the scores depend on (same inputs → same hash → same snapshot).

    The canonical form is one JSON array of plain tuples (every field of every input dataclass,
    positionally, submissions by id; Decimals as full-precision strings, dates ISO, dict keys
    sorted; the left-out submissions' counts without zero counts), built and encoded by the C
    JSON encoder rather than ``dataclasses.asdict``.
    """
    counts = {
        code: {state: n for state, n in by_state.items() if n}
        for code, by_state in (others or {}).items()
    }
    payload = (
        _HASH_FORMAT,
        framework.total_points,
        list(map(_MAIN_FIELDS, framework.mains)),
        list(map(_SUB_FIELDS, framework.subs)),
        list(map(_SUBMISSION_FIELDS, sorted(submissions, key=_BY_ID))),
        _PERIOD_FIELDS(period),
        {code: by_state for code, by_state in counts.items() if by_state},
    )
    text = json.dumps(payload, default=_hash_default, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def weighted_dti(
    values: Mapping[str, Decimal], weights: Mapping[str, Decimal], total: Decimal
) -> Decimal:
    """DTI from published main-index values (0–1): Σ value × weight ÷ total weight."""
    with localcontext() as ctx:
        ctx.prec = _PREC
        s = sum((values[c] * w for c, w in weights.items() if w > 0), _ZERO)
        return s / total if total > 0 else _ZERO


def competition_ranks(scores: Sequence[Decimal], places: int = 4) -> list[int]:
    """Ranks, highest first, ties (equal at ``places`` decimals) share a rank, the next is skipped
    (1, 2, 2, 4), as the Ministry publishes."""
    rounded = [round_display(s, places) or _ZERO for s in scores]
    return [1 + sum(1 for other in rounded if other > mine) for mine in rounded]


def to_decimal_or_zero(v: Any) -> Decimal:
    d = to_decimal(v)
    return d if d is not None else _ZERO
