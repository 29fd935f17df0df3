"""Rule evaluation (values → points, with the explanation) and the combination of several
agencies' values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, DecimalException, localcontext
from typing import Any

from .base import (
    _HUNDRED,
    _ONE,
    _PRECISION,
    _ZERO,
    COMBINABLE_SUM_KINDS,
    RULE_TYPES,
    Msg,
    RuleResult,
    Value,
    _clamp,
    _fraction,
    _missing,
    _read_bool,
    _read_number,
    _sorted_bands,
    gettext_noop,
    to_decimal,
)

# --- evaluation ----------------------------------------------------------------------------------


def evaluate_rule(
    rule: Mapping[str, Any],
    values: Mapping[str, Value],
    max_points: Decimal,
    measure_kinds: Mapping[str, str] | None = None,
) -> RuleResult:
    """Applies ``rule`` to ``values`` (measure code → Decimal/str/None) for a sub-indicator worth
    ``max_points``. Never raises on bad data: missing or unreadable required values give 0 points
    and ``complete=False``; oddities are reported in ``warnings``; values too large to compute
    with (stored before the input bounds, e.g. ``1E+9999999``) give 0 points, incomplete, with a
    warning. Points are in [0, max_points].

    ``measure_kinds`` (measure code → ``Measure.kind``) says what a threshold rule's ``measure``
    is: a percentage (kind ``percent``, and always a numerator/denominator pair) is capped at
    100% before it meets the bands; a rate per 100/1000 inhabitants or a number is compared with
    the bands as it is (130 subscriptions per 100 inhabitants reaches a band at 120). Without
    it, the measure is taken for a percentage. The scoring engine, the reporting form and the
    what-if all pass it.
    """
    max_d = to_decimal(max_points)
    if max_d is None or max_d < _ZERO:
        max_d = _ZERO
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        try:
            result = _evaluate(rule, values, max_d, measure_kinds or {})
        except DecimalException:
            result = _missing(
                Msg(gettext_noop("Không tính được điểm.")),
                [Msg(gettext_noop("Số liệu quá lớn hoặc không hợp lệ để tính điểm."))],
            )
    return RuleResult(
        _clamp(result.points, max_d),
        result.warnings,
        result.explanation,
        result.complete,
        result.messages,
    )


def _read_ratio(
    rule: Mapping[str, Any], values: Mapping[str, Value], warnings: list[Msg]
) -> tuple[Decimal, Decimal] | RuleResult:
    """The rule's numerator and denominator, or the result when they cannot make a ratio
    (either missing: incomplete; a zero denominator: 0 points with a warning)."""
    num = _read_number(values, str(rule.get("numerator", "")), _NUMERATOR, warnings)
    den = _read_number(values, str(rule.get("denominator", "")), _DENOMINATOR, warnings)
    if num is None or den is None:
        return _missing(Msg(gettext_noop("Thiếu tử số hoặc mẫu số.")), warnings)
    if den == _ZERO:
        warnings.append(_ZERO_DENOMINATOR)
        return RuleResult.of(
            _ZERO, warnings, Msg(gettext_noop("%(numerator)s/0 → 0 điểm."), numerator=num)
        )
    return num, den


def _evaluate(
    rule: Mapping[str, Any],
    values: Mapping[str, Value],
    mx: Decimal,
    measure_kinds: Mapping[str, str],
) -> RuleResult:
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
        pair = _read_ratio(rule, values, warnings)
        if isinstance(pair, RuleResult):
            return pair
        num, den = pair
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
        return _threshold(rule, values, mx, measure_kinds, warnings)

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


def _threshold(
    rule: Mapping[str, Any],
    values: Mapping[str, Value],
    mx: Decimal,
    measure_kinds: Mapping[str, str],
    warnings: list[Msg],
) -> RuleResult:
    """Threshold bands: the highest band whose ``min`` the figure reaches gives its fraction of
    ``mx``. The figure is a percentage (numerator × 100 ÷ denominator, or a ``percent``
    measure), capped at 100%; or a rate or number (``measure_kinds``), compared as it is."""
    if "numerator" in rule:
        pair = _read_ratio(rule, values, warnings)
        if isinstance(pair, RuleResult):
            return pair
        num, den = pair
        figure = num * _HUNDRED / den
        is_percent = True
    else:
        code = str(rule.get("measure", ""))
        is_percent = measure_kinds.get(code, "percent") == "percent"
        got = _read_number(values, code, _PERCENT if is_percent else _VALUE, warnings)
        if got is None:
            return _missing(
                Msg(gettext_noop("Chưa có tỷ lệ %%."))
                if is_percent
                else Msg(gettext_noop("Chưa có giá trị.")),
                warnings,
            )
        figure = got
    if is_percent and figure > _HUNDRED:
        warnings.append(Msg(gettext_noop("Tỷ lệ vượt 100%%: tính như 100%%.")))
        figure = _HUNDRED
    for lo, frac in _sorted_bands(rule.get("bands") or [], "fraction"):
        if figure >= lo:
            f = _clamp(frac, _ONE)
            pts = f * mx
            if is_percent:
                reached = Msg(
                    gettext_noop(
                        "Tỷ lệ %(percent)s%% ≥ %(min)s%% → %(fraction)s × %(max)s = %(points)s điểm."
                    ),
                    percent=figure,
                    min=lo,
                    fraction=f,
                    max=mx,
                    points=pts,
                )
            else:
                reached = Msg(
                    gettext_noop(
                        "Giá trị %(value)s ≥ %(min)s → %(fraction)s × %(max)s = %(points)s điểm."
                    ),
                    value=figure,
                    min=lo,
                    fraction=f,
                    max=mx,
                    points=pts,
                )
            return RuleResult.of(pts, warnings, reached)
    return RuleResult.of(
        _ZERO,
        warnings,
        Msg(gettext_noop("Tỷ lệ %(percent)s%% chưa đạt ngưỡng nào → 0 điểm."), percent=figure)
        if is_percent
        else Msg(gettext_noop("Giá trị %(value)s chưa đạt ngưỡng nào → 0 điểm."), value=figure),
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


def combinable_codes(rule: Mapping[str, Any], measure_kinds: Mapping[str, str]) -> frozenset[str]:
    """The measures :func:`combine_values` combines: numerators, denominators, counts, numbers,
    yes/no and levels, except the points entered for a manual or external rule. The others
    (percentages, rates, text, those points) are never combined: the lead enters them."""
    points_measure = (
        str(rule.get("measure", ""))
        if isinstance(rule, Mapping) and rule.get("type") in ("manual", "external")
        else None
    )
    return frozenset(
        code
        for code, kind in measure_kinds.items()
        if code != points_measure and (kind in COMBINABLE_SUM_KINDS or kind in ("boolean", "level"))
    )


def combine_values(
    rule: Mapping[str, Any],
    measure_kinds: Mapping[str, str],
    contributions: Sequence[Mapping[str, Value]],
) -> dict[str, Value]:
    """Combines several agencies' values for one sub-indicator, measure by measure.

    numerator/denominator/count/number: summed (so a ratio is Σ numerators / Σ denominators,
    never the mean of ratios); boolean: 1 if any contribution says yes, 0 if all present say no;
    level: the level with the highest fraction in ``rule["levels"]`` (ties: smallest key);
    percent, rate (per 100/1000 inhabitants) and text: None (cannot be combined; the lead enters
    the consolidated value), and so the points entered for a manual or external rule (points
    expected by several agencies are not added up).
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
    combinable = combinable_codes(rule, measure_kinds)
    with localcontext() as ctx:
        ctx.prec = 200  # exact sums whatever the order
        for code, kind in measure_kinds.items():
            if code not in combinable:
                out[code] = None
                continue
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
