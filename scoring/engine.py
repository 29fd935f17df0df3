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

from indicators.scoring_rules import combine_values, evaluate_rule, round_display, to_decimal

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
    sub: SubIndicatorData, subs: Sequence[SubmissionData], period: PeriodData
) -> tuple[bool, str]:
    """(at risk, reason) from the states of all the sub-indicator's submissions."""
    if sub.max_points <= 0:
        return False, ""
    states = {s.state for s in subs}
    answering = _answering(sub, subs)
    if answering is not None and answering.state == APPROVED:
        return False, ""
    if answering is None and states and states <= {APPROVED}:
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


def _answering(sub: SubIndicatorData, subs: Sequence[SubmissionData]) -> SubmissionData | None:
    """The submission that answers to the Sở: the consolidation, the lead's own, or the only one."""
    for s in subs:
        if s.is_consolidation:
            return s
    for s in subs:
        if sub.lead_agency_id is not None and s.agency_id == sub.lead_agency_id:
            return s
    return subs[0] if len(subs) == 1 else None


def _same_at_display(decided: Decimal, rule_points: Decimal) -> bool:
    """A recorded decision equal to the rule's points at 4 decimals (how submissions store
    points) confirms them rather than overriding them."""
    return round_display(decided, 4) == round_display(rule_points, 4)


def _state_label(subs: Sequence[SubmissionData], answering: SubmissionData | None) -> str:
    if answering is not None:
        return answering.state
    if not subs:
        return "missing"
    order = [RETURNED, DRAFT, SUBMITTED_TO_LEAD, SUBMITTED, UNDER_REVIEW, APPROVED]
    return min((s.state for s in subs), key=lambda st: order.index(st) if st in order else 0)


def evaluate_sub(
    kind: str, sub: SubIndicatorData, subs: Sequence[SubmissionData], period: PeriodData
) -> dict[str, Any]:
    """The lineage entry of one sub-indicator for one kind (values used → rule → points)."""
    counting = [s for s in subs if s.state in COUNTING_STATES[kind]]
    consolidation = next((s for s in counting if s.is_consolidation), None)
    used = [consolidation] if consolidation is not None else sorted(counting, key=lambda s: s.id)
    if consolidation is not None:
        values: Mapping[str, Any] = {
            code: consolidation.values.get(code) for code in sub.measure_kinds
        }
    elif len(used) == 1:
        values = {code: used[0].values.get(code) for code in sub.measure_kinds}
    else:
        values = combine_values(sub.rule, sub.measure_kinds, [s.values for s in used])
    result = evaluate_rule(sub.rule, values, sub.max_points)
    points = result.points
    basis = "values"
    explanation = result.explanation
    answering = _answering(sub, used)
    if used and kind in (APPRAISED, FINAL) and answering is not None:
        decided = None
        if kind == FINAL and answering.final_points is not None:
            decided, basis = answering.final_points, "final"
            who = "Điểm cuối cùng do Hội đồng thẩm định quyết định"
        elif answering.appraised_points is not None:
            decided, basis = answering.appraised_points, "appraised"
            who = "Điểm thẩm định do Sở KH&CN quyết định"
        if decided is not None and _same_at_display(decided, result.points):
            # The decision confirms the rule's points (stored to 4 decimals): keep full precision.
            basis = "values"
        elif decided is not None:
            points = min(max(decided, _ZERO), sub.max_points)
            explanation = f"{who}: {_s(points)} (theo số liệu: {result.explanation})"
    if not used:
        explanation = "Chưa có số liệu được tính cho loại điểm này."
    at_risk, reason = _risk(sub, subs, period)
    return {
        "main_code": sub.main_code,
        "name": sub.name,
        "max_points": _s(sub.max_points),
        "rule": dict(sub.rule),
        "values": {k: _json_value(v) for k, v in values.items()},
        "points": _s(points),
        "rule_points": _s(result.points),
        "basis": basis,
        "explanation": explanation,
        "warnings": list(result.warnings),
        "complete": result.complete and bool(used),
        "state": _state_label(subs, _answering(sub, subs)),
        "submission_ids": [s.id for s in used],
        "lead_agency_id": sub.lead_agency_id,
        "contributors": sorted({s.agency_id for s in used}),
        "at_risk": at_risk,
        "risk_reason": reason,
    }


def compute_kind(
    kind: str,
    framework: FrameworkData,
    submissions: Iterable[SubmissionData],
    period: PeriodData,
) -> ScoreResult:
    """One kind's full score for the province (see the module docstring)."""
    return _compute_kind(kind, framework, _by_code(submissions), period)


def _by_code(submissions: Iterable[SubmissionData]) -> dict[str, list[SubmissionData]]:
    by_code: dict[str, list[SubmissionData]] = defaultdict(list)
    for s in submissions:
        by_code[s.indicator_code].append(s)
    return by_code


def _compute_kind(
    kind: str,
    framework: FrameworkData,
    by_code: Mapping[str, Sequence[SubmissionData]],
    period: PeriodData,
) -> ScoreResult:
    with localcontext() as ctx:
        ctx.prec = _PREC
        lineage: dict[str, dict[str, Any]] = {}
        main_points: dict[str, Decimal] = defaultdict(lambda: _ZERO)
        at_risk_total = _ZERO
        reachable = _ZERO
        agency_rows: dict[int, dict[str, Decimal | int]] = {}
        for sub in framework.subs:
            entry = evaluate_sub(kind, sub, by_code.get(sub.code, []), period)
            lineage[sub.code] = entry
            pts = Decimal(entry["points"])
            main_points[sub.main_code] += pts
            if entry["at_risk"]:
                at_risk_total += sub.max_points
                reachable += sub.max_points
            else:
                reachable += pts
            if sub.lead_agency_id is not None and sub.max_points > 0:
                row = agency_rows.setdefault(
                    sub.lead_agency_id,
                    {
                        "assigned_points": _ZERO,
                        "points": _ZERO,
                        "items": 0,
                        "approved": 0,
                        "returned": 0,
                        "overdue": 0,
                        "missing": 0,
                        "not_approved": 0,
                    },
                )
                row["assigned_points"] += sub.max_points
                row["points"] += pts
                row["items"] += 1
                key = entry["risk_reason"] or "approved"
                row[key] += 1
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
    framework: FrameworkData, submissions: Sequence[SubmissionData], period: PeriodData
) -> dict[str, ScoreResult]:
    """The three kinds' scores (self-assessed, appraised, final)."""
    by_code = _by_code(submissions)  # once for the three kinds
    return {kind: _compute_kind(kind, framework, by_code, period) for kind in KINDS}


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
_HASH_FORMAT = "dti-inputs/2"


def input_hash(
    framework: FrameworkData, submissions: Sequence[SubmissionData], period: PeriodData
) -> str:
    """A SHA-256 of everything the scores depend on (same inputs → same hash → same snapshot).

    The canonical form is one JSON array of plain tuples (every field of every input dataclass,
    positionally, submissions by id; Decimals as full-precision strings, dates ISO, dict keys
    sorted), built and encoded by the C JSON encoder rather than ``dataclasses.asdict``.
    """
    payload = (
        _HASH_FORMAT,
        framework.total_points,
        list(map(_MAIN_FIELDS, framework.mains)),
        list(map(_SUB_FIELDS, framework.subs)),
        list(map(_SUBMISSION_FIELDS, sorted(submissions, key=_BY_ID))),
        _PERIOD_FIELDS(period),
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
