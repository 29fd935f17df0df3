"""The reported values the exports carry for the national round (DOMAIN.md §6: "national data
entry on dti.gov.vn: the portal exports values and evidence per sub-indicator").

Per sub-indicator: the values of the submission that answers to the Sở (the lead agency's
consolidation, else the lead agency's own submission, else the only one of an item without a
lead), **only once the Sở has approved it**. Drafts, contributions still with the lead, and
anything submitted, under review or returned never appear: until approved the values are the
agency's own, and only approved values go to the national round.

Scope, as on the sub-indicator page: province users see every item; agency staff the items their
agency leads and the ones where its own submission is the answering one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import F, Q

from evidence.models import ReportingPeriod, Submission
from indicators.models import Framework, Measure

from ..dashboards.selectors import dec, display_value
from ..models import ScoreKind, ScoreSnapshot

#: Measures whose values are numbers (written as number cells); the others are text.
NUMERIC_KINDS = {"number", "numerator", "denominator", "count", "percent", "rate"}


@dataclass(frozen=True)
class ReportedValue:
    """One measure of an approved submission."""

    label: str
    unit: str
    #: The value as a number, for numeric measures (None when not a number or not reported).
    number: Decimal | None
    #: The value as people read it ("1.234,5", "Có", a level's label); "" when not reported.
    text: str

    @property
    def line(self) -> str:
        """``label: value unit`` (an unreported value shows as "—")."""
        if not self.text:
            return f"{self.label}: —"
        return f"{self.label}: {self.text}" + (f" {self.unit}" if self.unit else "")


@dataclass
class ReportedItem:
    """A sub-indicator's approved values and points."""

    indicator_id: int
    code: str
    name: str
    agency: str
    appraised_points: Decimal | None
    final_points: Decimal | None
    values: list[ReportedValue] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The values one per line, as the appendix's "Số liệu báo cáo" cell shows them."""
        return "\n".join(v.line for v in self.values)


def _value(measure: Measure, raw: Any) -> ReportedValue:
    number = dec(raw) if measure.kind in NUMERIC_KINDS else None
    return ReportedValue(
        label=measure.label,
        unit=measure.unit,
        number=number,
        text=display_value(measure, raw),
    )


def _points(
    snapshots: Mapping[str, ScoreSnapshot] | None, kind: str, code: str
) -> tuple[bool, Decimal | None]:
    snap = (snapshots or {}).get(kind)
    if snap is None:
        return False, None
    return True, dec(((snap.lineage or {}).get(code) or {}).get("points"))


def approved_values(
    *,
    user: Any,
    framework: Framework,
    period: ReportingPeriod | None,
    snapshots: Mapping[str, ScoreSnapshot] | None = None,
) -> dict[int, ReportedItem]:
    """Indicator id → its approved answering submission's values, in the user's scope (two
    queries whatever the number of items, agencies or measures).

    Points: the appraised and final points of the score snapshots when given (the same figures
    as the appendix and the dashboards); without a snapshot, the submission's own (the
    reviewer's appraised points; the council's final points, else the appraised ones).
    """
    if period is None:
        return {}
    lead = F("indicator__lead_agency_id")
    subs = list(
        Submission.objects.filter(
            period=period, indicator__framework=framework, state=Submission.State.APPROVED
        )
        .filter(Q(is_consolidation=True) | Q(agency_id=lead) | Q(indicator__lead_agency=None))
        .select_related("indicator", "agency")
        .only(
            "id",
            "indicator_id",
            "agency_id",
            "is_consolidation",
            "values",
            "appraised_points",
            "final_points",
            "indicator__code",
            "indicator__sort_key",
            "indicator__name",
            "indicator__lead_agency_id",
            "agency__name",
        )
        .order_by("indicator__sort_key", "indicator_id", "-is_consolidation", "id")
    )
    by_indicator: dict[int, list[Submission]] = defaultdict(list)
    for s in subs:
        by_indicator[s.indicator_id].append(s)
    measures: dict[int, list[Measure]] = defaultdict(list)
    if by_indicator:
        for m in Measure.objects.filter(indicator__framework=framework).order_by(
            "indicator_id", "position", "id"
        ):
            measures[m.indicator_id].append(m)
    own = None if getattr(user, "sees_province", False) else getattr(user, "agency_id", None) or 0
    out: dict[int, ReportedItem] = {}
    for indicator_id, candidates in by_indicator.items():
        lead_id = candidates[0].indicator.lead_agency_id
        answering = next((s for s in candidates if s.is_consolidation), None) or next(
            (s for s in candidates if lead_id is not None and s.agency_id == lead_id), None
        )
        if answering is None and len(candidates) == 1:  # an item without a lead
            answering = candidates[0]
        if answering is None:
            continue
        if own is not None and own not in (lead_id, answering.agency_id):
            continue
        code = answering.indicator.code
        has_appraised, appraised = _points(snapshots, ScoreKind.APPRAISED, code)
        has_final, final = _points(snapshots, ScoreKind.FINAL, code)
        if not has_appraised:
            appraised = answering.appraised_points
        if not has_final:
            final = answering.final_points if answering.final_points is not None else appraised
        out[indicator_id] = ReportedItem(
            indicator_id=indicator_id,
            code=code,
            name=answering.indicator.name,
            agency=answering.agency.name,
            appraised_points=appraised,
            final_points=final,
            values=[
                _value(m, (answering.values or {}).get(m.code)) for m in measures[indicator_id]
            ],
        )
    return out
