"""The engine's plain-data inputs and outputs, the states it knows, and what a loader may
summarise (:func:`summarise`)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from operator import attrgetter
from typing import Any

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
_BY_ID = attrgetter("id")


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
