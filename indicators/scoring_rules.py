"""Scoring rules: pure, typed functions that turn reported values into sub-indicator points.

A rule is a JSON object stored in ``Indicator.scoring_rule``; its measure codes refer to the
sub-indicator's ``Measure.code``s. Decimals are strings in JSON. Rule types (DOMAIN.md §5)::

    {"type": "yes_no", "measure": "done"}                  # 1 → max, 0 → 0
    {"type": "levels", "measure": "level",
     "levels": [{"key": "full", "label": "...", "fraction": "1"}, ...]}   # chosen key → fraction × max
    {"type": "ratio", "numerator": "numerator", "denominator": "denominator"}
                                                           # min(a/b, 1) × max; b = 0 → 0 + warning
    {"type": "count_bands", "measure": "count",
     "bands": [{"min": "4", "points": "20"}, {"min": "1", "points": "5"}]}  # highest band reached
    {"type": "threshold_bands", "numerator": "numerator", "denominator": "denominator",
     "bands": [{"min": "80", "fraction": "1"}, {"min": "50", "fraction": "0.5"}]}
                                                           # on a percentage (or "measure": a
                                                           # percent measure instead of a/b)
    {"type": "target", "measure": "value", "target": "10"}  # min(value / target, 1) × max
    {"type": "manual", "measure": "points"}                # entered/appraised points, capped
    {"type": "informational"}                              # always 0
    {"type": "external", "measure": "expected_points"}     # Ministry-measured: expected points

Arithmetic and rounding
-----------------------
Everything is ``decimal.Decimal`` (never float). Evaluation runs in a local decimal context of
40 significant digits with ROUND_HALF_EVEN and **no intermediate rounding**; the points returned
are at full precision (e.g. 1/3 of 30 points is 9.999…9 to 40 digits, not 10.0000). Callers store
full precision (the score snapshots keep 12 decimal places) and round only for display, with
:func:`round_display` (ROUND_HALF_UP to 4 decimals, as the Ministry publishes). A ratio that reaches
or passes 1 gives exactly ``max_points``; points are always clamped to ``[0, max_points]``.

This module has no ORM access: evidence (self-assessed points, live) and scoring (snapshots) both
call it with plain data.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from django.utils.translation import gettext_noop

__all__ = [
    "COMBINABLE_SUM_KINDS",
    "RULE_TYPES",
    "Msg",
    "RuleResult",
    "combine_values",
    "default_rule_and_measures",
    "evaluate_rule",
    "measures_used",
    "render_message",
    "round_display",
    "to_decimal",
    "validate_rule",
]

Value = Decimal | str | None

RULE_TYPES: tuple[str, ...] = (
    "yes_no",
    "levels",
    "ratio",
    "count_bands",
    "threshold_bands",
    "target",
    "manual",
    "informational",
    "external",
)

#: Measure kinds whose contributions from several agencies are added up.
COMBINABLE_SUM_KINDS = frozenset({"numerator", "denominator", "count", "number"})
#: Measure kinds that carry a number (usable where a rule needs a quantity).
NUMERIC_KINDS = frozenset({"numerator", "denominator", "count", "number", "percent"})

_PRECISION = 40
_ZERO = Decimal(0)
_ONE = Decimal(1)
_HUNDRED = Decimal(100)
_TRUE_WORDS = {"1", "true", "yes", "có", "co", "đạt", "x"}
_FALSE_WORDS = {"0", "false", "no", "không", "khong", "chưa", "chua", ""}


class Msg:
    """A sentence for people, kept structured: a gettext msgid (the Vietnamese text, with
    ``%(name)s`` placeholders) and its arguments (numbers as ``Decimal``, nested messages, or
    plain text such as a level's label). ``str()`` is the Vietnamese sentence (stored, exported,
    audited); :func:`render_message` of :meth:`as_json` shows it in the reader's language with
    their number format (``12,5`` in Vietnamese, ``12.5`` in English)."""

    __slots__ = ("args", "template")

    def __init__(self, template: str, **args: Any) -> None:
        self.template = template
        self.args = args

    def __str__(self) -> str:
        return self.template % {k: _plain_arg(v) for k, v in self.args.items()}

    def __repr__(self) -> str:
        return f"Msg({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Msg) and self.as_json() == other.as_json()

    def __hash__(self) -> int:
        return hash(str(self))

    def as_json(self) -> list[Any]:
        """``[msgid, {name: text | {"n": number} | {"m": message}}]``."""
        return [self.template, {k: _json_arg(v) for k, v in self.args.items()}]

    def render(self) -> str:
        """The sentence in the active language, numbers in its format."""
        return render_message(self.as_json(), str(self))


def _plain_arg(v: Any) -> str:
    return _fmt(v) if isinstance(v, Decimal) else str(v)


def _json_arg(v: Any) -> Any:
    if isinstance(v, Decimal):
        return {"n": _fmt(v)}
    if isinstance(v, Msg):
        return {"m": v.as_json()}
    return str(v)


def render_message(data: Any, fallback: str = "") -> str:
    """A message stored as :meth:`Msg.as_json` in the active language, numbers formatted for
    it; ``fallback`` (the stored Vietnamese text) when ``data`` is not such a message (older
    snapshots)."""
    from django.utils.formats import number_format
    from django.utils.translation import gettext

    if not (
        isinstance(data, list)
        and len(data) == 2
        and isinstance(data[0], str)
        and isinstance(data[1], dict)
    ):
        return fallback
    template, args = data
    out: dict[str, str] = {}
    for name, v in args.items():
        if isinstance(v, dict) and "n" in v:
            number = to_decimal(v["n"])
            out[name] = str(v["n"]) if number is None else number_format(number, use_l10n=True)
        elif isinstance(v, dict) and "m" in v:
            out[name] = render_message(v["m"])
        else:
            out[name] = str(v)
    try:
        return gettext(template) % out
    except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder
        return template % out


@dataclass(frozen=True)
class RuleResult:
    """The outcome of applying a rule to values.

    ``points``: full precision, within [0, max_points]. ``warnings``: Vietnamese messages about
    the data (zero denominator, value out of range…). ``explanation``: a Vietnamese sentence
    showing the computation. ``complete``: False when a required value is missing or unreadable
    (points are then 0). ``messages``: the explanation then the warnings, structured
    (:class:`Msg`), for display in the reader's language.
    """

    points: Decimal
    warnings: tuple[str, ...]
    explanation: str
    complete: bool
    messages: tuple[Msg, ...] = field(default=(), compare=False)

    @classmethod
    def of(
        cls, points: Decimal, warnings: Sequence[Msg], explanation: Msg, complete: bool = True
    ) -> RuleResult:
        return cls(
            points,
            tuple(str(w) for w in warnings),
            str(explanation),
            complete,
            (explanation, *warnings),
        )

    @property
    def explanation_msg(self) -> Msg | None:
        return self.messages[0] if self.messages else None

    @property
    def warning_msgs(self) -> tuple[Msg, ...]:
        return self.messages[1:]

    def explanation_text(self) -> str:
        """The explanation in the active language (for a page or an API answer)."""
        msg = self.explanation_msg
        return msg.render() if msg is not None else self.explanation

    def warning_texts(self) -> list[str]:
        """The warnings in the active language."""
        if not self.messages:
            return list(self.warnings)
        return [w.render() for w in self.warning_msgs]


# --- helpers -------------------------------------------------------------------------------------


def to_decimal(value: Any) -> Decimal | None:
    """Reads a stored value as a finite Decimal; None when missing or unreadable.

    Accepts Decimal, int, bool and decimal strings ("12.5"; surrounding spaces ignored). Floats are
    converted through ``str`` so that 0.1 stays 0.1.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return _ONE if value else _ZERO
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        value = str(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            d = Decimal(text)
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    return None


def round_display(value: Decimal | str | None, places: int = 4) -> Decimal | None:
    """Rounds a full-precision figure for display: ROUND_HALF_UP to ``places`` decimals."""
    d = to_decimal(value)
    if d is None:
        return None
    return d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _fmt(d: Decimal) -> str:
    """Short human form of a number for explanations (at most 4 decimals, no trailing zeros)."""
    q = d.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    text = format(q.normalize(), "f")
    return text


def _clamp(points: Decimal, max_points: Decimal) -> Decimal:
    if points < _ZERO:
        return _ZERO
    if points > max_points:
        return max_points
    return points


def _fraction(raw: Any) -> Decimal | None:
    d = to_decimal(raw)
    if d is None or d < _ZERO or d > _ONE:
        return None
    return d


def _read_number(
    values: Mapping[str, Value], code: str, label: Msg, warnings: list[Msg]
) -> Decimal | None:
    """A non-negative number from ``values[code]``; None (with a warning when present) otherwise."""
    raw = values.get(code)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    d = to_decimal(raw)
    if d is None:
        warnings.append(
            Msg(
                gettext_noop("Giá trị “%(raw)s” của %(label)s không phải là số."),
                raw=raw,
                label=label,
            )
        )
        return None
    if d < _ZERO:
        warnings.append(
            Msg(
                gettext_noop("Giá trị của %(label)s không được âm (%(value)s)."),
                label=label,
                value=d,
            )
        )
        return None
    return d


def _read_bool(values: Mapping[str, Value], code: str, warnings: list[Msg]) -> bool | None:
    raw = values.get(code)
    if raw is None:
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return None if word == "" else False
    d = to_decimal(raw)
    if d is None:
        warnings.append(Msg(gettext_noop("Giá trị “%(raw)s” không phải là Có/Không."), raw=raw))
        return None
    return d != _ZERO


def _sorted_bands(bands: Sequence[Mapping[str, Any]], key: str) -> list[tuple[Decimal, Decimal]]:
    """(min, points-or-fraction) pairs, highest ``min`` first, unreadable bands skipped."""
    out = []
    for band in bands:
        lo, val = to_decimal(band.get("min")), to_decimal(band.get(key))
        if lo is not None and val is not None:
            out.append((lo, val))
    out.sort(key=lambda p: p[0], reverse=True)
    return out


def _missing(explanation: Msg, warnings: Sequence[Msg]) -> RuleResult:
    return RuleResult.of(_ZERO, warnings, explanation, False)


def measures_used(rule: Mapping[str, Any]) -> list[str]:
    """The measure codes a rule reads, in a stable order."""
    kind = rule.get("type")
    if kind in ("ratio",) or (kind == "threshold_bands" and "numerator" in rule):
        return [str(rule.get("numerator", "")), str(rule.get("denominator", ""))]
    if kind == "informational":
        return []
    return [str(rule.get("measure", ""))]


# --- validation ----------------------------------------------------------------------------------


def validate_rule(
    rule: Mapping[str, Any], measure_codes: Mapping[str, str], max_points: Decimal
) -> list[str]:
    """Checks a rule against the sub-indicator's measures (code → kind) and its max points.

    Returns Vietnamese error messages; an empty list means the rule is valid.
    """
    errors: list[str] = []
    if not isinstance(rule, Mapping):
        return ["Quy tắc tính điểm phải là một đối tượng JSON."]
    kind = rule.get("type")
    if kind not in RULE_TYPES:
        return [f"Loại quy tắc “{kind}” không hợp lệ; chọn một trong: {', '.join(RULE_TYPES)}."]
    max_d = to_decimal(max_points)
    if max_d is None or max_d < _ZERO:
        errors.append("Điểm tối đa phải là số không âm.")
        max_d = _ZERO

    def need(field: str, allowed: frozenset[str] | set[str]) -> None:
        code = rule.get(field)
        if not code or not isinstance(code, str):
            errors.append(f"Thiếu mã số liệu ở trường “{field}”.")
        elif code not in measure_codes:
            errors.append(f"Số liệu “{code}” (trường “{field}”) không có trong chỉ số này.")
        elif measure_codes[code] not in allowed:
            errors.append(
                f"Số liệu “{code}” có kiểu “{measure_codes[code]}”, không dùng được cho "
                f"trường “{field}” (cần: {', '.join(sorted(allowed))})."
            )

    if kind == "yes_no":
        need("measure", {"boolean"})
    elif kind == "levels":
        need("measure", {"level"})
        levels = rule.get("levels")
        if not isinstance(levels, list) or not levels:
            errors.append("Quy tắc mức độ cần ít nhất một mức.")
        else:
            keys: set[str] = set()
            for i, level in enumerate(levels, start=1):
                key = level.get("key") if isinstance(level, Mapping) else None
                if not key or not isinstance(key, str):
                    errors.append(f"Mức {i}: thiếu mã mức.")
                elif key in keys:
                    errors.append(f"Mức {i}: mã “{key}” bị trùng.")
                else:
                    keys.add(key)
                if not isinstance(level, Mapping) or _fraction(level.get("fraction")) is None:
                    errors.append(f"Mức {i}: tỷ lệ điểm phải là số từ 0 đến 1.")
    elif kind == "ratio":
        need("numerator", NUMERIC_KINDS - {"percent"})
        need("denominator", NUMERIC_KINDS - {"percent"})
    elif kind in ("count_bands", "threshold_bands"):
        if kind == "count_bands":
            need("measure", {"count", "number"})
        elif "measure" in rule:
            need("measure", {"percent", "number"})
        else:
            need("numerator", NUMERIC_KINDS - {"percent"})
            need("denominator", NUMERIC_KINDS - {"percent"})
        bands = rule.get("bands")
        value_key = "points" if kind == "count_bands" else "fraction"
        if not isinstance(bands, list) or not bands:
            errors.append("Quy tắc theo khoảng cần ít nhất một khoảng.")
        else:
            mins: set[Decimal] = set()
            for i, band in enumerate(bands, start=1):
                if not isinstance(band, Mapping):
                    errors.append(f"Khoảng {i} không hợp lệ.")
                    continue
                lo = to_decimal(band.get("min"))
                if lo is None or lo < _ZERO:
                    errors.append(f"Khoảng {i}: ngưỡng “min” phải là số không âm.")
                elif lo in mins:
                    errors.append(f"Khoảng {i}: ngưỡng {_fmt(lo)} bị trùng.")
                else:
                    mins.add(lo)
                val = to_decimal(band.get(value_key))
                if kind == "count_bands":
                    if val is None or val < _ZERO or val > max_d:
                        errors.append(f"Khoảng {i}: điểm phải từ 0 đến {_fmt(max_d)}.")
                elif _fraction(band.get(value_key)) is None:
                    errors.append(f"Khoảng {i}: tỷ lệ điểm phải là số từ 0 đến 1.")
    elif kind == "target":
        need("measure", NUMERIC_KINDS)
        target = to_decimal(rule.get("target"))
        if target is None or target <= _ZERO:
            errors.append("Chỉ tiêu (target) phải là số lớn hơn 0.")
    elif kind in ("manual", "external"):
        need("measure", {"number", "count"})
    return errors


# --- evaluation ----------------------------------------------------------------------------------


def evaluate_rule(
    rule: Mapping[str, Any], values: Mapping[str, Value], max_points: Decimal
) -> RuleResult:
    """Applies ``rule`` to ``values`` (measure code → Decimal/str/None) for a sub-indicator worth
    ``max_points``. Never raises on bad data: missing or unreadable required values give 0 points
    and ``complete=False``; oddities are reported in ``warnings``. Points are in [0, max_points].
    """
    max_d = to_decimal(max_points)
    if max_d is None or max_d < _ZERO:
        max_d = _ZERO
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        result = _evaluate(rule, values, max_d)
    return RuleResult(
        _clamp(result.points, max_d),
        result.warnings,
        result.explanation,
        result.complete,
        result.messages,
    )


def _evaluate(rule: Mapping[str, Any], values: Mapping[str, Value], mx: Decimal) -> RuleResult:
    warnings: list[Msg] = []
    kind = rule.get("type") if isinstance(rule, Mapping) else None
    if kind == "informational":
        return RuleResult.of(
            _ZERO, (), Msg(gettext_noop("Chỉ số chỉ để theo dõi, không tính điểm."))
        )
    if kind not in RULE_TYPES:
        return _missing(
            Msg(gettext_noop("Chưa có quy tắc tính điểm hợp lệ.")),
            [Msg(gettext_noop("Loại quy tắc “%(kind)s” không hợp lệ."), kind=kind)],
        )

    if kind == "yes_no":
        yes = _read_bool(values, str(rule.get("measure", "")), warnings)
        if yes is None:
            return _missing(Msg(gettext_noop("Chưa có số liệu Có/Không.")), warnings)
        pts = mx if yes else _ZERO
        answer = Msg(gettext_noop("Có")) if yes else Msg(gettext_noop("Không"))
        return RuleResult.of(
            pts,
            warnings,
            Msg(gettext_noop("%(answer)s → %(points)s điểm."), answer=answer, points=pts),
        )

    if kind == "levels":
        raw = values.get(str(rule.get("measure", "")))
        key = raw.strip() if isinstance(raw, str) else raw
        if key is None or key == "":
            return _missing(Msg(gettext_noop("Chưa chọn mức độ.")), warnings)
        for level in rule.get("levels") or []:
            if isinstance(level, Mapping) and str(level.get("key")) == str(key):
                frac = _fraction(level.get("fraction"))
                if frac is None:
                    warnings.append(
                        Msg(gettext_noop("Mức “%(key)s” có tỷ lệ điểm không hợp lệ."), key=key)
                    )
                    return _missing(Msg(gettext_noop("Quy tắc mức độ không hợp lệ.")), warnings)
                pts = frac * mx
                label = level.get("label") or key
                return RuleResult.of(
                    pts,
                    warnings,
                    Msg(
                        gettext_noop("Mức “%(label)s” = %(fraction)s × %(max)s = %(points)s điểm."),
                        label=label,
                        fraction=frac,
                        max=mx,
                        points=pts,
                    ),
                )
        warnings.append(Msg(gettext_noop("Mức “%(key)s” không có trong quy tắc."), key=key))
        return _missing(Msg(gettext_noop("Mức độ đã chọn không hợp lệ.")), warnings)

    if kind == "ratio":
        num = _read_number(values, str(rule.get("numerator", "")), _NUMERATOR, warnings)
        den = _read_number(values, str(rule.get("denominator", "")), _DENOMINATOR, warnings)
        if num is None or den is None:
            return _missing(Msg(gettext_noop("Thiếu tử số hoặc mẫu số.")), warnings)
        if den == _ZERO:
            warnings.append(_ZERO_DENOMINATOR)
            return RuleResult.of(
                _ZERO, warnings, Msg(gettext_noop("%(numerator)s/0 → 0 điểm."), numerator=num)
            )
        if num >= den:
            if num > den:
                warnings.append(
                    Msg(gettext_noop("Tử số lớn hơn mẫu số: tỷ lệ được tính tối đa 100%%."))
                )
            pts = mx
        else:
            pts = num * mx / den
        return RuleResult.of(
            pts,
            warnings,
            Msg(
                gettext_noop(
                    "Tỷ lệ %(numerator)s/%(denominator)s = %(percent)s%% × %(max)s = "
                    "%(points)s điểm."
                ),
                numerator=num,
                denominator=den,
                percent=min(num / den, _ONE) * _HUNDRED,
                max=mx,
                points=pts,
            ),
        )

    if kind == "count_bands":
        count = _read_number(values, str(rule.get("measure", "")), _COUNT, warnings)
        if count is None:
            return _missing(Msg(gettext_noop("Chưa có số lượng.")), warnings)
        for lo, band_points in _sorted_bands(rule.get("bands") or [], "points"):
            if count >= lo:
                pts = _clamp(band_points, mx)
                if band_points > mx:
                    warnings.append(
                        Msg(
                            gettext_noop("Điểm của khoảng vượt điểm tối đa: tính bằng điểm tối đa.")
                        )
                    )
                return RuleResult.of(
                    pts,
                    warnings,
                    Msg(
                        gettext_noop("Số lượng %(count)s ≥ %(min)s → %(points)s điểm."),
                        count=count,
                        min=lo,
                        points=pts,
                    ),
                )
        return RuleResult.of(
            _ZERO,
            warnings,
            Msg(gettext_noop("Số lượng %(count)s chưa đạt khoảng nào → 0 điểm."), count=count),
        )

    if kind == "threshold_bands":
        if "numerator" in rule:
            num = _read_number(values, str(rule.get("numerator", "")), _NUMERATOR, warnings)
            den = _read_number(values, str(rule.get("denominator", "")), _DENOMINATOR, warnings)
            if num is None or den is None:
                return _missing(Msg(gettext_noop("Thiếu tử số hoặc mẫu số.")), warnings)
            if den == _ZERO:
                warnings.append(_ZERO_DENOMINATOR)
                return RuleResult.of(
                    _ZERO, warnings, Msg(gettext_noop("%(numerator)s/0 → 0 điểm."), numerator=num)
                )
            percent = num * _HUNDRED / den
        else:
            got = _read_number(values, str(rule.get("measure", "")), _PERCENT, warnings)
            if got is None:
                return _missing(Msg(gettext_noop("Chưa có tỷ lệ %%.")), warnings)
            percent = got
        if percent > _HUNDRED:
            warnings.append(Msg(gettext_noop("Tỷ lệ vượt 100%%: tính như 100%%.")))
            percent = _HUNDRED
        for lo, frac in _sorted_bands(rule.get("bands") or [], "fraction"):
            if percent >= lo:
                f = _clamp(frac, _ONE)
                pts = f * mx
                return RuleResult.of(
                    pts,
                    warnings,
                    Msg(
                        gettext_noop(
                            "Tỷ lệ %(percent)s%% ≥ %(min)s%% → %(fraction)s × %(max)s = "
                            "%(points)s điểm."
                        ),
                        percent=percent,
                        min=lo,
                        fraction=f,
                        max=mx,
                        points=pts,
                    ),
                )
        return RuleResult.of(
            _ZERO,
            warnings,
            Msg(gettext_noop("Tỷ lệ %(percent)s%% chưa đạt ngưỡng nào → 0 điểm."), percent=percent),
        )

    if kind == "target":
        target = to_decimal(rule.get("target"))
        if target is None or target <= _ZERO:
            return _missing(
                Msg(gettext_noop("Chỉ tiêu không hợp lệ.")),
                [Msg(gettext_noop("Chỉ tiêu (target) phải lớn hơn 0."))],
            )
        value = _read_number(values, str(rule.get("measure", "")), _VALUE, warnings)
        if value is None:
            return _missing(Msg(gettext_noop("Chưa có giá trị.")), warnings)
        pts = mx if value >= target else value * mx / target
        return RuleResult.of(
            pts,
            warnings,
            Msg(
                gettext_noop(
                    "Giá trị %(value)s / chỉ tiêu %(target)s (tối đa 100%%) × %(max)s = "
                    "%(points)s điểm."
                ),
                value=value,
                target=target,
                max=mx,
                points=pts,
            ),
        )

    # manual / external: the entered points, capped at max
    external = kind == "external"
    label = _EXPECTED_POINTS if external else _ENTERED_POINTS
    entered = _read_number(values, str(rule.get("measure", "")), label, warnings)
    if entered is None:
        return _missing(
            Msg(gettext_noop("Chưa có điểm dự kiến."))
            if external
            else Msg(gettext_noop("Chưa có điểm chấm.")),
            warnings,
        )
    if entered > mx:
        warnings.append(
            Msg(
                gettext_noop("Điểm dự kiến %(points)s vượt điểm tối đa %(max)s.")
                if external
                else gettext_noop("Điểm chấm %(points)s vượt điểm tối đa %(max)s."),
                points=entered,
                max=mx,
            )
        )
    pts = _clamp(entered, mx)
    return RuleResult.of(
        pts,
        warnings,
        Msg(
            gettext_noop("Bộ KH&CN đo; điểm dự kiến: %(points)s điểm.")
            if external
            else gettext_noop("Điểm chấm trực tiếp: %(points)s điểm."),
            points=pts,
        ),
    )


_NUMERATOR = Msg(gettext_noop("tử số"))
_DENOMINATOR = Msg(gettext_noop("mẫu số"))
_COUNT = Msg(gettext_noop("số lượng"))
_PERCENT = Msg(gettext_noop("tỷ lệ %%"))
_VALUE = Msg(gettext_noop("giá trị"))
_EXPECTED_POINTS = Msg(gettext_noop("điểm dự kiến"))
_ENTERED_POINTS = Msg(gettext_noop("điểm chấm"))
_ZERO_DENOMINATOR = Msg(gettext_noop("Mẫu số bằng 0: không tính được tỷ lệ, tính 0 điểm."))


# --- aggregation ---------------------------------------------------------------------------------


def combine_values(
    rule: Mapping[str, Any],
    measure_kinds: Mapping[str, str],
    contributions: Sequence[Mapping[str, Value]],
) -> dict[str, Value]:
    """Combines several agencies' values for one sub-indicator, measure by measure.

    numerator/denominator/count/number: summed (so a ratio is Σ numerators / Σ denominators,
    never the mean of ratios); boolean: 1 if any contribution says yes, 0 if all present say no;
    level: the level with the highest fraction in ``rule["levels"]`` (ties: smallest key);
    percent and text: None (cannot be combined; the lead enters the consolidated value).
    A measure no contribution reports stays None. The result does not depend on the order of
    ``contributions``.
    """
    fractions: dict[str, Decimal] = {}
    levels = rule.get("levels") if isinstance(rule, Mapping) else None
    for level in levels or []:
        if isinstance(level, Mapping) and level.get("key") is not None:
            frac = _fraction(level.get("fraction"))
            fractions[str(level["key"])] = frac if frac is not None else _ZERO
    out: dict[str, Value] = {}
    with localcontext() as ctx:
        ctx.prec = 200  # exact sums whatever the order
        for code, kind in measure_kinds.items():
            present = [c.get(code) for c in contributions if c.get(code) not in (None, "")]
            if kind in COMBINABLE_SUM_KINDS:
                nums = [d for d in (to_decimal(v) for v in present) if d is not None]
                out[code] = sum(nums, _ZERO) if nums else None
            elif kind == "boolean":
                flags = [
                    b for b in (_read_bool({"v": v}, "v", []) for v in present) if b is not None
                ]
                out[code] = (_ONE if any(flags) else _ZERO) if flags else None
            elif kind == "level":
                keys = sorted({str(v).strip() for v in present if str(v).strip()})
                if not keys:
                    out[code] = None
                else:
                    out[code] = min(keys, key=lambda k: (-fractions.get(k, Decimal(-1)), k))
            else:
                out[code] = None
    return out


# --- defaults for a framework without rules ------------------------------------------------------

#: Targets used by the default "value against a target" rules. They are placeholders taken from
#: national programme targets for 2025 where one exists, to be adjusted by the Sở per framework:
#:   - mobile broadband subscriptions: 100 per 100 inhabitants (universal coverage);
#:   - community digital technology team members: 1 per 100 inhabitants (Decision 1907/QĐ-BTTTT
#:     sets a team per village/residential group; ~1 member per 100 people);
#:   - digital technology enterprises: 1.5 per 1000 inhabitants (national target 150,000 for
#:     ~100 million people, Resolution 52-NQ/TW 2025 target);
#:   - people trained in digital skills: 500,000 (about a quarter of a 2-million-people province);
#:   - .vn domain names: 10,000 (≈ 5 per 1000 inhabitants of a 2-million-people province);
#:   - state budget spent on digital government: 100,000 million VND (100 tỷ đồng) a year;
#:   - any other "/100 dân" or "/1000 dân" figure: 100 resp. 1; any other count: 100.
_TARGETS: tuple[tuple[str, str, str, str], ...] = (
    # (pattern in the lower-cased name, target, unit, measure label)
    ("thuê bao", "100", "thuê bao/100 dân", "Số thuê bao băng rộng di động trên 100 dân"),
    (
        "tổ công nghệ số",
        "1",
        "thành viên/100 dân",
        "Số thành viên Tổ công nghệ số cộng đồng trên 100 dân",
    ),
    (
        "doanh nghiệp công nghệ số",
        "1.5",
        "doanh nghiệp/1000 dân",
        "Số doanh nghiệp công nghệ số trên 1000 dân",
    ),
    ("kỹ năng số", "500000", "người", "Số người dân được phổ cập kỹ năng số"),
    ("tên miền", "10000", "tên miền", "Số lượng tên miền .vn"),
    ("ngân sách", "100000", "triệu đồng", "Tổng chi ngân sách nhà nước cho chính quyền số"),
)

_DEFAULT_LEVELS_HEAD = [
    {
        "key": "full",
        "label": "Người đứng đầu (Bí thư hoặc Chủ tịch) là Trưởng Ban chỉ đạo",
        "fraction": "1",
    },
    {
        "key": "half",
        "label": "Cấp phó (Phó Bí thư hoặc Phó Chủ tịch) là Trưởng Ban chỉ đạo",
        "fraction": "0.5",
    },
    {
        "key": "none",
        "label": "Chưa có Ban chỉ đạo hoặc không thuộc các trường hợp trên",
        "fraction": "0",
    },
]

_DEFAULT_LEVELS = [
    {"key": "full", "label": "Đáp ứng đầy đủ", "fraction": "1"},
    {"key": "partial", "label": "Đáp ứng một phần", "fraction": "0.5"},
    {"key": "none", "label": "Chưa đáp ứng", "fraction": "0"},
]

# Where the subject of "Tỷ lệ <subject> <qualifier>" ends (the denominator is "Tổng số <subject>").
_SUBJECT_END = re.compile(
    r"\s(?:được|có|đã|triển khai|sử dụng|biết|chuyên trách|toàn trình|nộp|tham gia|thực hiện)(?:\s|$)"
)


def _measure(
    code: str,
    label: str,
    kind: str,
    unit: str = "",
    *,
    required: bool = True,
    choices: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    return {
        "code": code,
        "label": label,
        "kind": kind,
        "unit": unit,
        "required": required,
        "choices": choices or [],
    }


def _clean_name(name: str) -> str:
    text = unicodedata.normalize("NFC", " ".join(str(name).split()))
    return text.rstrip(" .;:")


def _ratio_labels(phrase: str) -> tuple[str, str]:
    """("Số <phrase>", "Tổng số <subject>") for the phrase after "Tỷ lệ"."""
    phrase = phrase.strip()
    if phrase.lower().startswith("số "):
        phrase = phrase[3:]
    if phrase.lower().startswith("dân số "):
        rest = phrase[7:]
        subject = _SUBJECT_END.split(rest, maxsplit=1)[0]
        return f"Số người {rest}", f"Tổng dân số {subject}"
    subject = _SUBJECT_END.split(phrase, maxsplit=1)[0].strip() or phrase
    return f"Số {phrase}", f"Tổng số {subject}"


def default_rule_and_measures(
    code: str, name: str, max_points: Decimal
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A sensible default rule and measures for a sub-indicator whose official rule is unknown.

    By the wording of its name (DOMAIN.md §5), in this order: 0 max points → informational;
    "Người đứng đầu … Trưởng ban" → levels (full / half / none); "…/100 dân", "…/1000 dân",
    "trên 100 dân", "Số lượng…", "Tổng chi Ngân sách…" → value against a documented target
    (``_TARGETS``); "Tỷ lệ…" (and "Sở, ban, ngành, địa phương có…", "Số điểm … có …") → ratio with
    numerator/denominator measures labelled in Vietnamese; "Tỷ trọng X trong Y" → ratio X/Y;
    "Mức độ…" → levels; anything else ("Ban hành…", "… có …", "Triển khai…") → yes/no.
    ``code`` is accepted for callers' convenience and future overrides; the choice uses the name.
    """
    del code  # the default depends on the wording only
    text = _clean_name(name)
    low = text.lower()
    mx = to_decimal(max_points) or _ZERO

    if mx == _ZERO:
        return {"type": "informational"}, [
            _measure("done", "Đã thực hiện", "boolean", required=False),
            _measure("note", "Mô tả kết quả thực hiện", "text", required=False),
        ]

    if low.startswith("người đứng đầu") and "trưởng ban" in low:
        choices = [{"key": lv["key"], "label": lv["label"]} for lv in _DEFAULT_LEVELS_HEAD]
        return (
            {
                "type": "levels",
                "measure": "level",
                "levels": [dict(lv) for lv in _DEFAULT_LEVELS_HEAD],
            },
            [_measure("level", "Người giữ chức Trưởng Ban chỉ đạo", "level", choices=choices)],
        )

    per_population = re.search(r"(/|trên\s)\s*(100|1000)\s*dân", low)
    if per_population or low.startswith("số lượng") or low.startswith("tổng chi ngân sách"):
        target, unit, label = None, "", text
        for pattern, t, u, lab in _TARGETS:
            if pattern in low:
                target, unit, label = t, u, lab
                break
        if target is None:
            if per_population:
                per = per_population.group(2)
                target, unit = ("100" if per == "100" else "1"), f"/{per} dân"
            else:
                target, unit = "100", ""
        kind = "count" if low.startswith("số lượng") and not per_population else "number"
        return (
            {"type": "target", "measure": "value", "target": target},
            [_measure("value", label, kind, unit)],
        )

    if low.startswith("tỷ trọng"):
        m = re.match(r"tỷ trọng\s+(.+?)\s+trong\s+(.+)$", text, flags=re.IGNORECASE)
        part, whole = (m.group(1), m.group(2)) if m else (text[9:], "tổng số")
        return (
            {"type": "ratio", "numerator": "numerator", "denominator": "denominator"},
            [
                _measure("numerator", f"Giá trị {part}", "numerator", "tỷ đồng"),
                _measure("denominator", f"Tổng {whole}", "denominator", "tỷ đồng"),
            ],
        )

    ratio_labels: tuple[str, str] | None = None
    if low.startswith("tỷ lệ"):
        ratio_labels = _ratio_labels(text[5:])
    elif re.match(r"sở, ban, ngành(, địa phương)? có ", low):
        rest = text.split(" có ", 1)[1]
        ratio_labels = (f"Số cơ quan, đơn vị có {rest}", "Tổng số cơ quan, đơn vị")
    elif low.startswith("số điểm") and " có " in low:
        subject = text.split(" có ", 1)[0]
        ratio_labels = (text, f"Tổng {subject[0].lower()}{subject[1:]}")
    if ratio_labels is not None:
        num_label, den_label = ratio_labels
        return (
            {"type": "ratio", "numerator": "numerator", "denominator": "denominator"},
            [
                _measure("numerator", num_label, "numerator"),
                _measure("denominator", den_label, "denominator"),
            ],
        )

    if low.startswith("mức độ"):
        choices = [{"key": lv["key"], "label": lv["label"]} for lv in _DEFAULT_LEVELS]
        return (
            {"type": "levels", "measure": "level", "levels": [dict(lv) for lv in _DEFAULT_LEVELS]},
            [_measure("level", text, "level", choices=choices)],
        )

    label = "Đã ban hành" if low.startswith("ban hành") else "Đã thực hiện, đạt yêu cầu"
    return {"type": "yes_no", "measure": "done"}, [_measure("done", label, "boolean")]
