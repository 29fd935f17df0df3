"""Scores from the inputs: every sub-indicator per kind with its lineage, then the totals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, localcontext
from typing import Any

from indicators.scoring_rules import (
    Msg,
    combine_values,
    evaluate_rule,
    round_display,
)
from indicators.scoring_rules.base import gettext_noop

from .inputs import (
    _BY_ID,
    _NO_COUNTS,
    _PREC,
    _ZERO,
    APPRAISED,
    APPROVED,
    COUNTING_STATES,
    DRAFT,
    FINAL,
    KINDS,
    RETURNED,
    SUBMITTED,
    SUBMITTED_TO_LEAD,
    UNDER_REVIEW,
    FrameworkData,
    PeriodData,
    ScoreResult,
    StateCounts,
    SubIndicatorData,
    SubmissionData,
    _json_value,
    _s,
)

_NO_DATA = Msg(gettext_noop("Chưa có số liệu được tính cho loại điểm này."))


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
    # An unknown state (never expected: states are guarded) sorts with "returned", then by name,
    # so that the label does not depend on set order.
    return min(states, key=lambda st: (_STATE_ORDER.index(st) if st in _STATE_ORDER else 0, st))


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
            result = evaluate_rule(sub.rule, values, sub.max_points, sub.measure_kinds)
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
