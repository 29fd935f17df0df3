"""Scores of the real 2025 framework computed by hand and by the recompute (scoring audit, Q3).

The framework is imported from the shipped appendix (data/dti_2025_tinh_phu_luc_1.xlsx, Phụ lục
I of Plan 4636/KH-UBND) with its default rules (``default_rule_and_measures``: the official
rule of a 2025 sub-indicator is not in the documents, DOMAIN.md §5). The lead agencies' approved
consolidations below give, by hand:

=====  ===  =======================================  ==========================================
code   max  default rule (DOMAIN.md §5)              values → points
=====  ===  =======================================  ==========================================
1.1     10  levels: head = 1, deputy = 0.5, none = 0  "half" → 0.5 × 10 = 5
1.2     10  yes/no ("Ban hành ...")                   "1" → 10
4.1     10  ratio a/b × max                           45/50 → 0.9 × 10 = 9
4.2     30  ratio a/b × max                           120/400 → 0.3 × 30 = 9
4.3     20  ratio a/b × max                           30/400 → 0.075 × 20 = 1.5
4.4     20  ratio a/b × max                           1500/2000 → 0.75 × 20 = 15
4.5     10  target 1 member per 100 inhabitants       0.8 → 0.8/1 × 10 = 8
4.6     10  target 500 000 people (count)             620 000 ≥ 500 000 → capped at 10
=====  ===  =======================================  ==========================================

Main index 1 (50): 5 + 10 = 15 → value 15/50 = 0.3. Main index 4 (100): 9 + 9 + 1.5 + 15 + 8 +
10 = 52.5 → value 0.525. Every other sub-indicator has no submission: 0 points, at risk.
Total 15 + 52.5 = 67.5; DTI = 67.5 / 1000 = 0.0675 (DOMAIN.md §5).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from evidence.models import Submission
from indicators.models import Framework, Indicator
from scoring import services
from scoring.models import ScoreSnapshot
from tests.factories import ReportingPeriodFactory, SubmissionFactory
from tests.indicators.conftest import DATA_FILE

D = Decimal
pytestmark = pytest.mark.django_db

VALUES = {
    "1.1": {"level": "half"},
    "1.2": {"done": "1"},
    "4.1": {"numerator": "45", "denominator": "50"},
    "4.2": {"numerator": "120", "denominator": "400"},
    "4.3": {"numerator": "30", "denominator": "400"},
    "4.4": {"numerator": "1500", "denominator": "2000"},
    "4.5": {"value": "0.8"},
    "4.6": {"value": "620000"},
}
BY_HAND = {
    "1.1": D(5),
    "1.2": D(10),
    "4.1": D(9),
    "4.2": D(9),
    "4.3": D("1.5"),
    "4.4": D(15),
    "4.5": D(8),
    "4.6": D(10),
}
RULE_TYPES = {
    "1.1": "levels",
    "1.2": "yes_no",
    "4.1": "ratio",
    "4.2": "ratio",
    "4.3": "ratio",
    "4.4": "ratio",
    "4.5": "target",
    "4.6": "target",
}


def test_hand_computed_2025_sub_indicators_main_indices_and_dti():
    from agencies.demo import seed_agencies
    from indicators.services import framework_import

    seed_agencies()
    report = framework_import(
        actor=None, data=DATA_FILE.read_bytes(), code="dti-2025-hand", year=2025
    )
    fw = Framework.objects.get(pk=report.framework_id)
    period = ReportingPeriodFactory(
        framework=fw, year=2025, quarter=4, deadline=datetime.date.today() + datetime.timedelta(30)
    )
    subs = {i.code: i for i in Indicator.objects.filter(framework=fw, level="sub")}
    for code, values in VALUES.items():
        assert subs[code].scoring_rule["type"] == RULE_TYPES[code], code
        SubmissionFactory(
            indicator=subs[code],
            period=period,
            agency=subs[code].lead_agency,
            values=values,
            is_consolidation=True,
        )
    Submission.objects.filter(period=period).update(state="approved")

    services.score_recompute(framework_id=fw.pk, period_id=period.pk, force=True)

    snaps = {s.kind: s for s in ScoreSnapshot.objects.filter(framework=fw, period=period)}
    assert set(snaps) == {"self_assessed", "appraised", "final"}
    for kind, snap in snaps.items():
        got = {code: D(snap.lineage[code]["points"]) for code in BY_HAND}
        assert got == BY_HAND, kind
        mains = {m["code"]: m for m in snap.main_indices}
        assert (D(mains["1"]["points"]), D(mains["1"]["value"])) == (D(15), D("0.3"))
        assert (D(mains["4"]["points"]), D(mains["4"]["value"])) == (D("52.5"), D("0.525"))
        for other in ("2", "3", "5", "6", "7", "8", "9"):
            assert D(mains[other]["points"]) == 0, other
        assert snap.total_points == D("67.5")
        assert snap.dti == D("0.0675")
        # Every scored sub-indicator without an approved answer puts its max at risk:
        # 1000 - (10 + 10 + 100) approved = 880.
        assert snap.points_at_risk == D(880)
        assert snap.max_reachable == D("67.5") + D(880)
