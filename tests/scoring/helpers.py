"""Builders for scoring tests: a small framework tree with rules, agencies and submissions."""

from __future__ import annotations

import datetime
from decimal import Decimal

from evidence.models import Submission
from indicators.models import Indicator, Measure
from tests.factories import (
    AgencyFactory,
    IndicatorFactory,
    ReportingPeriodFactory,
    SubmissionFactory,
    published_framework,
)

D = Decimal

RATIO = {"type": "ratio", "numerator": "numerator", "denominator": "denominator"}
YES_NO = {"type": "yes_no", "measure": "done"}
LEVELS = {
    "type": "levels",
    "measure": "level",
    "levels": [
        {"key": "full", "label": "Đầy đủ", "fraction": "1"},
        {"key": "half", "label": "Một phần", "fraction": "0.5"},
        {"key": "none", "label": "Không", "fraction": "0"},
    ],
}


def make_framework(*, total="1000", code=None, mains=None):
    """A framework with, by default: main 1 (500: 1.1 ratio 300, 1.2 yes/no 200),
    main 2 (500: 2.1 levels 500), main 3 (0 points: 3.1 informational)."""
    fw = published_framework(total_points=D(total), **({"code": code} if code else {}))
    lead = AgencyFactory()
    spec = mains or [
        (
            "1",
            "Nhận thức số",
            "500",
            [("1.1", "Tỷ lệ thôn", "300", RATIO), ("1.2", "Ban hành", "200", YES_NO)],
        ),
        ("2", "Thể chế số", "500", [("2.1", "Mức độ", "500", LEVELS)]),
        ("3", "Đô thị thông minh", "0", [("3.1", "Theo dõi", "0", {"type": "informational"})]),
    ]
    subs = {}
    for mcode, mname, mpts, children in spec:
        main = IndicatorFactory(
            framework=fw, level=Indicator.Level.MAIN, code=mcode, name=mname, max_points=D(mpts)
        )
        for scode, sname, spts, rule in children:
            sub = IndicatorFactory(
                framework=fw,
                parent=main,
                level=Indicator.Level.SUB,
                code=scode,
                name=sname,
                max_points=D(spts),
                scoring_rule=rule,
                lead_agency=lead,
            )
            t = rule["type"]
            if t == "ratio":
                Measure.objects.create(
                    indicator=sub, code="numerator", label="Tử số", kind="numerator"
                )
                Measure.objects.create(
                    indicator=sub,
                    code="denominator",
                    label="Mẫu số",
                    kind="denominator",
                    position=1,
                )
            elif t == "yes_no":
                Measure.objects.create(
                    indicator=sub, code="done", label="Đã ban hành", kind="boolean"
                )
            elif t == "levels":
                Measure.objects.create(indicator=sub, code="level", label="Mức", kind="level")
            subs[scode] = sub
    period = ReportingPeriodFactory(
        framework=fw, deadline=datetime.date.today() + datetime.timedelta(days=30)
    )
    return fw, period, lead, subs


def submit(sub, period, agency, values, state="approved", **extra):
    """A submission put directly into ``state`` (test setup only)."""
    s = SubmissionFactory(indicator=sub, period=period, agency=agency, values=values, **extra)
    Submission.objects.filter(pk=s.pk).update(state=state)
    return Submission.objects.get(pk=s.pk)
