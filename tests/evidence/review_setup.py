"""Builders shared by the review tests: a sub-indicator led by agency A with agency B as a
coordinating agency, A's consolidation and B's contribution, both in draft."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from evidence.models import ReportingPeriod, Submission
from indicators.models import Indicator, Measure
from tests.factories import (
    FrameworkFactory,
    IndicatorFactory,
    MeasureFactory,
    ReportingPeriodFactory,
    SubmissionFactory,
)


@dataclass
class Item:
    indicator: Indicator
    period: ReportingPeriod
    consolidation: Submission
    contribution: Submission


def make_item(
    agency_a, agency_b, *, code: str = "1.1", period=None, max_points: str = "10", **kw
) -> Item:
    """Sub-indicator ``code`` (yes/no, max 10) led by A, coordinated by B, and both drafts."""
    if period is None:
        period = ReportingPeriodFactory(framework=FrameworkFactory())
    main = Indicator.objects.filter(framework=period.framework, level=Indicator.Level.MAIN).first()
    if main is None:
        main = IndicatorFactory(
            framework=period.framework, level=Indicator.Level.MAIN, code="1", max_points="100"
        )
    ind = IndicatorFactory(
        framework=period.framework,
        parent=main,
        code=code,
        max_points=Decimal(max_points),
        lead_agency=agency_a,
        scoring_rule={"type": "yes_no", "measure": "done"},
        **kw,
    )
    ind.coordinating_agencies.add(agency_b)
    MeasureFactory(indicator=ind, code="done", label="Đã ban hành", kind=Measure.Kind.BOOLEAN)
    cons = SubmissionFactory(
        indicator=ind,
        agency=agency_a,
        period=period,
        is_consolidation=True,
        values={"done": "1"},
        self_points=Decimal(max_points),
    )
    contrib = SubmissionFactory(
        indicator=ind,
        agency=agency_b,
        period=period,
        values={"done": "1"},
        self_points=Decimal(max_points),
    )
    return Item(indicator=ind, period=period, consolidation=cons, contribution=contrib)
