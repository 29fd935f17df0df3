"""Server-side inline SVG charts for the PDF summary (no JavaScript in WeasyPrint).

Text is escaped; numbers are formatted the Vietnamese way (1.234,56).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from xml.sax.saxutils import escape

COLORS = {"self_assessed": "#9DC3E6", "appraised": "#1F4E79", "final": "#C55A11", "max": "#E7E6E6"}


def vn_number(value: Decimal | float | int | None, places: int = 2) -> str:
    """1234.5 → "1.234,50" (Vietnamese separators)."""
    if value is None:
        return "—"
    text = f"{float(value):,.{places}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def bar_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[Decimal | None]]],
    maxima: Sequence[Decimal],
    *,
    width: int = 680,
    height: int = 260,
    title: str = "",
) -> str:
    """Grouped bars per label (one bar per series) against a light bar of the max points.

    ``series``: (key, legend label, values). Returns an ``<svg>`` element.
    """
    left, right, top, bottom = 46, 10, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = max([float(m) for m in maxima] + [1.0])
    n = max(len(labels), 1)
    group_w = plot_w / n
    bar_w = group_w * 0.8 / max(len(series), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="PortalSans" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" font-size="12" font-weight="bold">{escape(title)}</text>',
    ]
    for i in range(5):
        v = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            'stroke="#DDDDDD" stroke-width="0.5"/>'
            f'<text x="{left - 4}" y="{y + 3:.1f}" font-size="8" text-anchor="end">'
            f"{vn_number(v, 0)}</text>"
        )
    for gi, (label, mx) in enumerate(zip(labels, maxima, strict=True)):
        gx = left + gi * group_w + group_w * 0.1
        mh = plot_h * float(mx) / top_value
        parts.append(
            f'<rect x="{gx:.1f}" y="{top + plot_h - mh:.1f}" width="{group_w * 0.8:.1f}" '
            f'height="{mh:.1f}" fill="{COLORS["max"]}"/>'
        )
        for si, (key, _legend, values) in enumerate(series):
            val = values[gi]
            if val is None:
                continue
            h = plot_h * float(val) / top_value
            x = gx + si * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w * 0.9:.1f}" '
                f'height="{h:.1f}" fill="{COLORS.get(key, "#888888")}"/>'
            )
        parts.append(
            f'<text x="{gx + group_w * 0.4:.1f}" y="{top + plot_h + 12}" font-size="9" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    lx = left
    for key, legend, _values in [("max", "Điểm tối đa", ()), *series]:
        parts.append(
            f'<rect x="{lx}" y="{height - 14}" width="10" height="10" '
            f'fill="{COLORS.get(key, "#888888")}"/>'
            f'<text x="{lx + 14}" y="{height - 5}" font-size="9">{escape(legend)}</text>'
        )
        lx += 24 + 6 * len(legend)
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[Decimal | None]]],
    *,
    target: Decimal | None = None,
    width: int = 680,
    height: int = 220,
    title: str = "",
) -> str:
    """Lines of totals per period (the quarterly trend), with the target as a dashed line, a
    value axis, and a gap where a period has no figure (the line is not drawn across it)."""
    left, right, top, bottom = 46, 10, 30, 40
    pad = 32  # the first and last period labels stay inside the picture
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [float(v) for _k, _l, vs in series for v in vs if v is not None]
    top_value = max(values + [float(target or 0), 1.0]) * 1.1
    n = len(labels)
    step = (plot_w - 2 * pad) / max(n - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + pad + i * step if n > 1 else left + plot_w / 2
        return x, top + plot_h - plot_h * v / top_value

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="PortalSans" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" font-size="12" font-weight="bold">{escape(title)}</text>',
    ]
    for i in range(5):
        v = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="{"#999999" if i == 0 else "#DDDDDD"}" stroke-width="0.5"/>'
            f'<text x="{left - 4}" y="{y + 3:.1f}" font-size="8" text-anchor="end">'
            f"{vn_number(v, 0)}</text>"
        )
    if target is not None:
        _x, ty = xy(0, float(target))
        parts.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" '
            'stroke="#C00000" stroke-dasharray="4 3" stroke-width="1"/>'
            f'<text x="{width - right}" y="{ty - 3:.1f}" font-size="8" text-anchor="end" '
            f'fill="#C00000">Mục tiêu {vn_number(target, 0)}</text>'
        )
    for i, label in enumerate(labels):
        x, _y = xy(i, 0)
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 12}" font-size="9" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    for key, _legend, vs in series:
        color = COLORS.get(key, "#888888")
        runs: list[list[tuple[float, float]]] = [[]]
        for i, figure in enumerate(vs):
            if figure is None:
                runs.append([])
            else:
                runs[-1].append(xy(i, float(figure)))
        for run in runs:
            if not run:
                continue
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            if len(run) > 1:
                parts.append(
                    f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>'
                )
            parts.append(
                "".join(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"/>' for x, y in run
                )
            )
    lx = left
    for key, legend, _vs in series:
        parts.append(
            f'<rect x="{lx}" y="{height - 14}" width="10" height="10" '
            f'fill="{COLORS.get(key, "#888888")}"/>'
            f'<text x="{lx + 14}" y="{height - 5}" font-size="9">{escape(legend)}</text>'
        )
        lx += 24 + 6 * len(legend)
    parts.append("</svg>")
    return "".join(parts)
