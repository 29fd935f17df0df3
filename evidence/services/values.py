"""Reported values: parsing and validation against the measures, their display, and the
self-assessed points they give (live preview, lead's consolidation proposal)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, DecimalException, InvalidOperation
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from indicators.models import Indicator, Measure
from indicators.scoring_rules import combinable_codes, combine_values, evaluate_rule

NUMERIC_KINDS = {
    Measure.Kind.NUMBER,
    Measure.Kind.NUMERATOR,
    Measure.Kind.DENOMINATOR,
    Measure.Kind.COUNT,
    Measure.Kind.PERCENT,
    Measure.Kind.RATE,
}
TRUE_WORDS = {"1", "true", "yes", "có", "co", "x", "đạt", "dat"}
FALSE_WORDS = {"0", "false", "no", "không", "khong"}
MAX_TEXT = 4000


# --- values --------------------------------------------------------------------------------


#: Bounds of a reported number: at most 15 digits before the decimal separator (a trillion
#: đồng fits; every sum the engine makes stays exact within its 40-digit precision) and at most
#: 6 significant decimal places (percentages and ratios need no more).
MAX_INTEGER_DIGITS = 15
MAX_DECIMAL_PLACES = 6
#: Spaces people (and spreadsheets) put between groups of thousands: space, no-break space,
#: narrow no-break space, thin space.
_GROUP_SPACES = " \u00a0\u202f\u2009"
_MAX_TEXT_LENGTH = 64  # longer than any number within the bounds, with separators


class NumberError(ValueError):
    """Why a value is not a number the portal accepts (``reason``) and, with :meth:`message`,
    the Vietnamese sentence to show on the field."""

    INVALID = "invalid"
    EXPONENT = "exponent"
    TOO_LARGE = "too_large"
    TOO_MANY_DECIMALS = "too_many_decimals"
    UNREADABLE = "unreadable"

    def __init__(self, reason: str, text: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.text = text

    def message(self, label: str) -> str:
        if self.reason == self.EXPONENT:
            return _("“%(label)s”: không dùng dạng số mũ (như 1e30), hãy gõ số đầy đủ.") % {
                "label": label
            }
        if self.reason == self.TOO_LARGE:
            return _("“%(label)s” quá lớn: tối đa %(n)s chữ số phần nguyên.") % {
                "label": label,
                "n": MAX_INTEGER_DIGITS,
            }
        if self.reason == self.TOO_MANY_DECIMALS:
            return _("“%(label)s” có quá nhiều chữ số thập phân: tối đa %(n)s.") % {
                "label": label,
                "n": MAX_DECIMAL_PLACES,
            }
        if self.reason == self.UNREADABLE:
            return _(
                "“%(label)s”: không đọc được số “%(value)s”. Hãy viết như 1.500 hoặc 1.234,5."
            ) % {"label": label, "value": self.text}
        return _("“%(label)s” phải là một số.") % {"label": label}


def _decimal_separator(language: str | None) -> str:
    """The decimal separator of ``language`` (the active one when None): "," or "."."""
    from django.utils.formats import get_format
    from django.utils.translation import get_language

    lang = language or get_language() or "vi"
    return "," if get_format("DECIMAL_SEPARATOR", lang=lang, use_l10n=True) == "," else "."


def parse_number(raw: Any, *, language: str | None = None) -> Decimal:
    """The one reader of numbers typed by a person, read from a workbook cell or sent to the API
    (values form and its points preview, ``PATCH /api/v1/submissions/{id}/`` values, workbook
    import, what-if, reviewer and council points). Raises :class:`NumberError`.

    Rules, in ``language``'s format (the active language when None: Vietnamese unless the user
    chose English; API clients without the language cookie are therefore read in Vietnamese —
    the API takes the same values as the form, so its JSON string ``"1.500"`` is 1500):

    * JSON/Excel numbers (``int``, ``float``, ``Decimal``) are taken as they are (floats through
      ``repr``, so 0.1 stays 0.1); booleans, NaN and infinities are refused.
    * Text: an optional ``-``/``+``, digits, and separators. Spaces (also no-break, narrow and
      thin spaces) group thousands only: ``1 234,5``.
    * Both ``.`` and ``,`` present: the last one is the decimal separator (once), the other groups
      thousands before it: ``1.234,5`` and ``1,234.5`` are both 1234.5.
    * One separator appearing several times groups thousands: ``1.234.567``.
    * One separator appearing once is a decimal separator — ``80,5``, ``80.5``, ``0.125``,
      ``1234.567`` — except when it stands between 1–3 digits (not starting with 0) and exactly
      3 digits, where it is ambiguous and the language decides: the language's thousands
      separator groups (Vietnamese ``1.500`` = 1500, English ``1,500`` = 1500), the other one
      is decimal (Vietnamese ``1,500`` = 1.5, English ``1.500`` = 1.5).
    * Thousands groups must be exactly 3 digits after a first group of 1–3 (``1.23.456``,
      ``12,34,567``, ``1 2``, mixed grouping characters are refused as unreadable rather than
      guessed), and a decimal part is at least one digit.
    * Exponents (``1e30``) are refused; so are more than ``MAX_INTEGER_DIGITS`` (15) digits
      before the decimal separator and more than ``MAX_DECIMAL_PLACES`` (6) decimal places once
      trailing zeros are dropped — for numbers from JSON/Excel too.
    """
    if isinstance(raw, bool):
        raise NumberError(NumberError.INVALID, str(raw))
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int):
        if abs(raw) >= 10**MAX_INTEGER_DIGITS:  # before str(): huge ints have a digit limit
            raise NumberError(NumberError.TOO_LARGE, "")
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw)) if math.isfinite(raw) else Decimal("NaN")
    elif isinstance(raw, str):
        value = _parse_text(raw, language)
    else:
        raise NumberError(NumberError.INVALID, str(raw)[:_MAX_TEXT_LENGTH])
    _check_bounds(value, str(raw)[:_MAX_TEXT_LENGTH])
    return value


def _check_bounds(value: Decimal, text: str) -> None:
    """Refuses non-finite values and those past the digit bounds, without context arithmetic
    (``1e9999999`` would overflow it)."""
    if not value.is_finite():
        raise NumberError(NumberError.INVALID, text)
    if value == 0:
        return
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    if exponent + len(digits) > MAX_INTEGER_DIGITS:
        raise NumberError(NumberError.TOO_LARGE, text)
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if -(exponent + trailing_zeros) > MAX_DECIMAL_PLACES:
        raise NumberError(NumberError.TOO_MANY_DECIMALS, text)


def _parse_text(raw: str, language: str | None) -> Decimal:
    text = raw.strip()
    if not text or len(text) > _MAX_TEXT_LENGTH:
        raise NumberError(NumberError.INVALID, text[:_MAX_TEXT_LENGTH])
    sign = ""
    if text[0] in "+-\u2212":
        sign, text = ("-" if text[0] != "+" else ""), text[1:].lstrip()
    if _EXPONENT.fullmatch(text):
        raise NumberError(NumberError.EXPONENT, raw.strip())
    if not text or not _NUMBER_CHARS.fullmatch(text):
        raise NumberError(NumberError.INVALID, raw.strip())
    for space in _GROUP_SPACES:
        text = text.replace(space, " ")
    integer, fraction = _split(text, language)
    if fraction is not None and not fraction.isdigit():
        raise NumberError(NumberError.UNREADABLE, raw.strip())
    if integer == "" and fraction is None:
        raise NumberError(NumberError.INVALID, raw.strip())
    if not (integer == "" or integer.isdigit() or _GROUPED.fullmatch(integer)):
        raise NumberError(NumberError.UNREADABLE, raw.strip())
    digits = re.sub(r"\D", "", integer) or "0"
    return Decimal(f"{sign}{digits}.{fraction}" if fraction else f"{sign}{digits}")


# ASCII digits only: Decimal() would also take other scripts' digits.
_EXPONENT = re.compile(r"[0-9.,]*[0-9][eE][+-]?[0-9]+")
_NUMBER_CHARS = re.compile(r"[0-9.," + _GROUP_SPACES + r"]+")
#: A first group of 1–3 digits (not starting with 0), then groups of 3 after one grouping
#: character used throughout.
_GROUPED = re.compile(r"[1-9][0-9]{0,2}(?:(?P<g>[., ])[0-9]{3})(?:(?P=g)[0-9]{3})*")
_AMBIGUOUS = re.compile(r"[1-9][0-9]{0,2}[.,][0-9]{3}")


def _split(text: str, language: str | None) -> tuple[str, str | None]:
    """(integer part with its grouping, decimal digits or None) of a text of digits, ``.``,
    ``,`` and spaces; the decimal separator chosen as :func:`parse_number` documents."""
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        decimal_sep = "." if text.rfind(".") > text.rfind(",") else ","
    elif dots + commas == 1:
        sep = "." if dots else ","
        decimal_sep = sep
        if " " not in text and _AMBIGUOUS.fullmatch(text):
            decimal_sep = sep if sep == _decimal_separator(language) else ""
    else:
        decimal_sep = ""  # none, or one separator repeated: thousands groups
    if not decimal_sep:
        return text, None
    integer, _sep, fraction = text.rpartition(decimal_sep)
    return integer, fraction


def decimal_to_str(value: Decimal) -> str:
    """Canonical storage form: no exponent, no trailing zeros ("12.5", "3")."""
    try:
        text = format(value.normalize(), "f")
    except DecimalException:  # odd data from before the bounds: keep it readable as it is
        return str(value)
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
                number = parse_number(value)
            except NumberError as exc:
                errors[m.code] = exc.message(m.label)
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
    try:
        q = value.quantize(Decimal("0.01")).normalize()
    except DecimalException:  # odd stored data must not break a page
        return str(value)
    places = max(0, -q.as_tuple().exponent)  # type: ignore[operator]
    return number_format(q, decimal_pos=places, use_l10n=True, force_grouping=True)


def format_number(value: Decimal) -> str:
    """``value`` in the active language's format with every significant decimal and thousands
    grouped (Vietnamese 1.234,5 and 1.500; English 1,234.5 and 1,500): what
    :func:`parse_number` reads back, in that language, as the same number."""
    if value == 0:
        value = Decimal(0)  # "-0", "0.00" → "0"
    _sign, digits, exponent = value.as_tuple()
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    places = max(0, -(int(exponent) + trailing_zeros)) if value else 0
    return number_format(value, decimal_pos=places, use_l10n=True, force_grouping=True)


def form_values(measures: Iterable[Measure], stored: Mapping[str, Any]) -> dict[str, Any]:
    """Stored values as a form shows them for editing: numbers in the reader's format
    (:func:`format_number`, so that saving the form again stores the same values); other kinds
    and unreadable stored numbers unchanged."""
    out = dict(stored)
    for m in measures:
        raw = stored.get(m.code)
        if m.kind in NUMERIC_KINDS and not is_blank(raw):
            try:
                out[m.code] = format_number(Decimal(str(raw)))
            except (InvalidOperation, ValueError):
                continue
    return out


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
        if not value.is_finite():
            return str(raw)
        text = format_number(value)
        return f"{text}%" if m.kind == Measure.Kind.PERCENT else text
    return str(raw)


def compute_points(indicator: Indicator, measures: Sequence[Measure], values: Mapping[str, str]):  # type: ignore[no-untyped-def]
    """Self-assessed points of ``values`` with the sub-indicator's rule (``PointsPreview``)."""
    rule = indicator.scoring_rule or {"type": "informational"}
    result = evaluate_rule(
        rule,
        rule_values(measures, values),
        indicator.max_points,
        {m.code: m.kind for m in measures},
    )
    return PointsPreview(
        points=result.points,
        max_points=indicator.max_points,
        complete=result.complete,
        warnings=tuple(result.warning_texts()),
        explanation=result.explanation_text(),
    )


def own_share_measures(indicator: Indicator, measures: Sequence[Measure]) -> list[Measure]:
    """The measures of which a lead agency states its own part (``Submission.own_values``):
    those the combination adds up or merges (``combinable_codes``: numbers, counts, numerators,
    denominators, yes/no, levels). Percentages, rates, text and the points of a manual or
    external rule are not combined: the lead enters the consolidated value of those directly."""
    codes = combinable_codes(
        indicator.scoring_rule or {"type": "informational"}, {m.code: m.kind for m in measures}
    )
    return [m for m in measures if m.code in codes]


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
