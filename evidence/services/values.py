"""Reported values: parsing and validation against the measures, their display, and the
self-assessed points they give (live preview, lead's consolidation proposal)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from indicators.models import Indicator, Measure
from indicators.scoring_rules import combine_values, evaluate_rule

NUMERIC_KINDS = {
    Measure.Kind.NUMBER,
    Measure.Kind.NUMERATOR,
    Measure.Kind.DENOMINATOR,
    Measure.Kind.COUNT,
    Measure.Kind.PERCENT,
}
TRUE_WORDS = {"1", "true", "yes", "có", "co", "x", "đạt", "dat"}
FALSE_WORDS = {"0", "false", "no", "không", "khong"}
MAX_TEXT = 4000


# --- values --------------------------------------------------------------------------------


def parse_decimal(raw: Any) -> Decimal:
    """Parses a number typed by a person or read from JSON/Excel.

    Accepts ``12.5``, ``12,5`` and the Vietnamese ``1.000,5`` (dots group thousands when a comma
    is present). Raises ``ValueError`` for anything else (including NaN/Infinity).
    """
    if isinstance(raw, bool):
        raise ValueError("boolean")
    if isinstance(raw, int | Decimal):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(str(raw))
    else:
        text = str(raw).strip().replace("\u00a0", "").replace(" ", "")
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        try:
            value = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(text) from exc
    if not value.is_finite():
        raise ValueError("not finite")
    return value


def decimal_to_str(value: Decimal) -> str:
    """Canonical storage form: no exponent, no trailing zeros ("12.5", "3")."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def level_keys(measure: Measure) -> list[str]:
    keys = []
    for choice in measure.choices or []:
        if isinstance(choice, Mapping):
            keys.append(str(choice.get("key", "")))
        else:
            keys.append(str(choice))
    return [k for k in keys if k]


def level_label(measure: Measure, key: str) -> str:
    for choice in measure.choices or []:
        if isinstance(choice, Mapping) and str(choice.get("key")) == key:
            return str(choice.get("label") or key)
    return key


def is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


def clean_values(
    measures: Sequence[Measure], raw: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """Validates ``raw`` (measure code → value) against the sub-indicator's measures.

    Returns ``(values, errors)``: canonical stored strings, and measure code → Vietnamese message.
    Rules: known codes only; numbers non-negative decimals (counts whole, percentages ≤ 100);
    booleans yes/no; levels one of the keys; numerator ≤ denominator when both are given. A blank
    measure is left out, required or not: a draft may be saved half-filled, and the required
    measures are checked when it is submitted (``transitions.submission_submit``).
    """
    by_code = {m.code: m for m in measures}
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for code in raw:
        if code not in by_code:
            errors[str(code)] = _("Không có số liệu “%(code)s” trong chỉ số này.") % {"code": code}
    for m in measures:
        value = raw.get(m.code)
        if is_blank(value):
            continue
        if m.kind in NUMERIC_KINDS:
            try:
                number = parse_decimal(value)
            except ValueError:
                errors[m.code] = _("“%(label)s” phải là một số.") % {"label": m.label}
                continue
            if number < 0:
                errors[m.code] = _("“%(label)s” không được âm.") % {"label": m.label}
                continue
            if m.kind == Measure.Kind.COUNT and number != number.to_integral_value():
                errors[m.code] = _("“%(label)s” phải là số nguyên.") % {"label": m.label}
                continue
            if m.kind == Measure.Kind.PERCENT and number > 100:
                errors[m.code] = _("“%(label)s” không được vượt quá 100%%.") % {"label": m.label}
                continue
            values[m.code] = decimal_to_str(number)
        elif m.kind == Measure.Kind.BOOLEAN:
            word = str(value).strip().lower() if not isinstance(value, bool) else str(int(value))
            if word in TRUE_WORDS:
                values[m.code] = "1"
            elif word in FALSE_WORDS:
                values[m.code] = "0"
            else:
                errors[m.code] = _("“%(label)s” chỉ nhận Có hoặc Không.") % {"label": m.label}
        elif m.kind == Measure.Kind.LEVEL:
            keys = level_keys(m)
            key = str(value).strip()
            if key not in keys:
                # Accept the label as typed in a workbook, too.
                by_label = {level_label(m, k).strip().lower(): k for k in keys}
                key = by_label.get(key.lower(), "")
            if not key:
                errors[m.code] = _("“%(label)s” phải là một trong các mức: %(keys)s.") % {
                    "label": m.label,
                    "keys": ", ".join(level_label(m, k) for k in keys),
                }
            else:
                values[m.code] = key
        else:  # text
            text = str(value).strip()
            if len(text) > MAX_TEXT:
                errors[m.code] = _("“%(label)s” quá dài (tối đa %(n)s ký tự).") % {
                    "label": m.label,
                    "n": MAX_TEXT,
                }
            else:
                values[m.code] = text
    nums = [m for m in measures if m.kind == Measure.Kind.NUMERATOR]
    dens = [m for m in measures if m.kind == Measure.Kind.DENOMINATOR]
    if len(nums) == 1 and len(dens) == 1:
        n, d = nums[0], dens[0]
        if (
            n.code in values
            and d.code in values
            and n.code not in errors
            and Decimal(values[n.code]) > Decimal(values[d.code])
        ):
            errors[n.code] = _("“%(num)s” không được lớn hơn “%(den)s”.") % {
                "num": n.label,
                "den": d.label,
            }
    return values, errors


def rule_values(
    measures: Iterable[Measure], values: Mapping[str, str]
) -> dict[str, Decimal | str | None]:
    """Stored strings → what ``evaluate_rule`` expects (decimals for numbers, keys/text as is)."""
    out: dict[str, Decimal | str | None] = {}
    for m in measures:
        raw = values.get(m.code)
        if raw is None or raw == "":
            out[m.code] = None
        elif m.kind in NUMERIC_KINDS or m.kind == Measure.Kind.BOOLEAN:
            try:
                out[m.code] = Decimal(str(raw))
            except InvalidOperation:
                out[m.code] = None
        else:
            out[m.code] = str(raw)
    return out


@dataclass(frozen=True)
class PointsPreview:
    points: Decimal
    max_points: Decimal
    complete: bool
    warnings: tuple[str, ...]
    explanation: str

    @property
    def text(self) -> str:
        """ "giá trị này cho 7,5/10 điểm" in the active locale's number format."""
        return _("giá trị này cho %(points)s/%(max)s điểm") % {
            "points": format_points(self.points),
            "max": format_points(self.max_points),
        }


def format_points(value: Decimal) -> str:
    """7.5 → "7,5"; 10.00 → "10"; at most 2 decimals, localized."""
    q = value.quantize(Decimal("0.01")).normalize()
    places = max(0, -q.as_tuple().exponent)  # type: ignore[operator]
    return number_format(q, decimal_pos=places, use_l10n=True, force_grouping=True)


def display_value(m: Measure, raw: Any) -> str:
    """A stored value as people read it: 1.234,5 for numbers, Có/Không, a level's label."""
    if raw is None or raw == "":
        return "—"
    if m.kind == Measure.Kind.BOOLEAN:
        return _("Có") if str(raw) == "1" else _("Không")
    if m.kind == Measure.Kind.LEVEL:
        return level_label(m, str(raw))
    if m.kind in NUMERIC_KINDS:
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            return str(raw)
        places = max(0, -value.normalize().as_tuple().exponent)  # type: ignore[operator]
        text = number_format(value, decimal_pos=places, use_l10n=True, force_grouping=True)
        return f"{text}%" if m.kind == Measure.Kind.PERCENT else text
    return str(raw)


def compute_points(indicator: Indicator, measures: Sequence[Measure], values: Mapping[str, str]):  # type: ignore[no-untyped-def]
    """Self-assessed points of ``values`` with the sub-indicator's rule (``PointsPreview``)."""
    rule = indicator.scoring_rule or {"type": "informational"}
    result = evaluate_rule(rule, rule_values(measures, values), indicator.max_points)
    return PointsPreview(
        points=result.points,
        max_points=indicator.max_points,
        complete=result.complete,
        warnings=tuple(result.warning_texts()),
        explanation=result.explanation_text(),
    )


def combined_proposal(
    indicator: Indicator, measures: Sequence[Measure], contributions: Sequence[Mapping[str, str]]
) -> dict[str, str]:
    """The lead's proposed consolidated values: ``combine_values`` over the contributions."""
    if not contributions:
        return {}
    kinds = {m.code: m.kind for m in measures}
    combined = combine_values(
        indicator.scoring_rule or {"type": "informational"},
        kinds,
        [rule_values(measures, c) for c in contributions],
    )
    out: dict[str, str] = {}
    for code, value in combined.items():
        if value is None:
            continue
        out[code] = decimal_to_str(value) if isinstance(value, Decimal) else str(value)
    return out
