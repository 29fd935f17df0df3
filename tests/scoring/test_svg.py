"""The PDF summary's server-side charts."""

from __future__ import annotations

import re
from decimal import Decimal

from scoring.exports import svg

D = Decimal


def test_trend_chart_has_a_value_axis_keeps_labels_inside_and_breaks_at_gaps():
    labels = ["Quý 1/2025", "Quý 2/2025", "Quý 3/2025", "Cả năm 2025"]
    out = svg.line_chart(
        labels,
        [("appraised", "Thẩm định", [D("400"), None, D("600.5"), D("700")])],
        target=D("800"),
        title="Tổng điểm theo quý",
    )
    # A value axis from 0, in Vietnamese numbers.
    assert ">0</text>" in out and re.search(r">\d{1,3}(\.\d{3})*</text>", out)
    # Every label's anchor is far enough from both edges for a label of that length.
    xs = [
        float(x)
        for x in re.findall(r'<text x="([\d.]+)" y="\d+" font-size="9" text-anchor="middle">', out)
    ]
    assert len(xs) == len(labels) and xs[0] >= 46 + 30 and xs[-1] <= 680 - 10 - 30
    # Q2 has no figure: Q1 stands alone, Q3–annual is one line; nothing is drawn across the gap.
    assert out.count("<polyline") == 1 and out.count("<circle") == 3
    assert "Mục tiêu 800" in out
