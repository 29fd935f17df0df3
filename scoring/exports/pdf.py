"""PDF summary for a Steering Committee meeting (WeasyPrint), Vietnamese font embedded.

The font is DejaVu Sans (full TTFs shipped in ``scoring/exports/fonts``: every Vietnamese glyph,
subset and embedded by WeasyPrint); charts are inline SVG drawn on the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from ..models import ScoreKind
from . import svg

FONT_DIR = Path(__file__).resolve().parent / "fonts"


def font_css() -> str:
    regular = (FONT_DIR / "DejaVuSans.ttf").as_uri()
    bold = (FONT_DIR / "DejaVuSans-Bold.ttf").as_uri()
    return (
        "@font-face { font-family: 'PortalSans'; font-weight: 400; "
        f"src: url('{regular}') format('truetype'); }}\n"
        "@font-face { font-family: 'PortalSans'; font-weight: 700; "
        f"src: url('{bold}') format('truetype'); }}\n"
    )


def trend_until(trend: list[dict[str, Any]], period: Any) -> list[dict[str, Any]]:
    """The trend as of ``period``: the report of a quarter (the six-month review conference's
    Q2, made in December) stops at that quarter instead of showing the later ones."""
    ids = [t["period_id"] for t in trend]
    if period is None or period.pk not in ids:
        return trend
    return trend[: ids.index(period.pk) + 1]


def summary_context(dash: Mapping[str, Any], league: Mapping[str, Any]) -> dict[str, Any]:
    """Template context: the dashboard figures plus the two charts as inline SVG."""
    table = dash["table"]
    series = [
        (k, str(ScoreKind(k).label), [m.points.get(k) for m in table.mains])
        for k in (ScoreKind.SELF_ASSESSED, ScoreKind.APPRAISED)
    ]
    mains_svg = svg.bar_chart(
        [m.code for m in table.mains],
        series,
        [m.max_points for m in table.mains],
        title="Điểm theo chỉ số chính: tự chấm và thẩm định",
    )
    trend = trend_until(dash["trend"], dash.get("period"))
    trend_svg = svg.line_chart(
        [t["label"] + ("*" if t.get("earlier") else "") for t in trend],
        [
            (k, str(ScoreKind(k).label), [t.get(k) for t in trend])
            for k in (ScoreKind.SELF_ASSESSED, ScoreKind.APPRAISED, ScoreKind.FINAL)
            if any(t.get(k) is not None for t in trend)
        ],
        target=dash.get("target_points"),
        title="Tổng điểm theo quý",
    )
    return {
        **dash,
        "trend": trend,
        "league": league,
        "province": settings.PROVINCE_NAME,
        "generated_at": timezone.localtime(),
        "font_css": mark_safe(font_css()),  # noqa: S308 - our own constant CSS
        "mains_svg": mark_safe(mains_svg),  # noqa: S308 - built with escaped text
        "trend_svg": mark_safe(trend_svg),  # noqa: S308 - built with escaped text
    }


def render_summary_pdf(dash: Mapping[str, Any], league: Mapping[str, Any]) -> bytes:
    """The PDF bytes of the meeting summary."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    html = render_to_string("scoring/exports/summary_pdf.html", summary_context(dash, league))
    font_config = FontConfiguration()
    return HTML(string=html, base_url=str(FONT_DIR)).write_pdf(font_config=font_config)
