"""Rule validation: what an administrator may save as a sub-indicator's rule."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .base import (
    _ZERO,
    NUMERIC_KINDS,
    RULE_TYPES,
    Msg,
    _fraction,
    gettext_noop,
    to_decimal,
)

# --- validation ----------------------------------------------------------------------------------


def validate_rule(
    rule: Mapping[str, Any], measure_codes: Mapping[str, str], max_points: Decimal
) -> list[str]:
    """Checks a rule against the sub-indicator's measures (code → kind) and its max points.

    Returns error messages in the active language (the reviewer reads them on the indicator
    form, the import preview and the publish check); an empty list means the rule is valid.
    """
    return [m.render() for m in _rule_errors(rule, measure_codes, max_points)]


def _rule_errors(
    rule: Mapping[str, Any], measure_codes: Mapping[str, str], max_points: Decimal
) -> list[Msg]:
    errors: list[Msg] = []
    if not isinstance(rule, Mapping):
        return [Msg(gettext_noop("Quy tắc tính điểm phải là một đối tượng JSON."))]
    kind = rule.get("type")
    if kind not in RULE_TYPES:
        return [
            Msg(
                gettext_noop("Loại quy tắc “%(kind)s” không hợp lệ; chọn một trong: %(all)s."),
                kind=kind,
                all=", ".join(RULE_TYPES),
            )
        ]
    max_d = to_decimal(max_points)
    if max_d is None or max_d < _ZERO:
        errors.append(Msg(gettext_noop("Điểm tối đa phải là số không âm.")))
        max_d = _ZERO

    def need(field: str, allowed: frozenset[str] | set[str]) -> None:
        code = rule.get(field)
        if not code or not isinstance(code, str):
            errors.append(Msg(gettext_noop("Thiếu mã số liệu ở trường “%(field)s”."), field=field))
        elif code not in measure_codes:
            errors.append(
                Msg(
                    gettext_noop(
                        "Số liệu “%(code)s” (trường “%(field)s”) không có trong chỉ số này."
                    ),
                    code=code,
                    field=field,
                )
            )
        elif measure_codes[code] not in allowed:
            errors.append(
                Msg(
                    gettext_noop(
                        "Số liệu “%(code)s” có kiểu “%(kind)s”, không dùng được cho trường "
                        "“%(field)s” (cần: %(allowed)s)."
                    ),
                    code=code,
                    kind=measure_codes[code],
                    field=field,
                    allowed=", ".join(sorted(allowed)),
                )
            )

    if kind == "yes_no":
        need("measure", {"boolean"})
    elif kind == "levels":
        need("measure", {"level"})
        levels = rule.get("levels")
        if not isinstance(levels, list) or not levels:
            errors.append(Msg(gettext_noop("Quy tắc mức độ cần ít nhất một mức.")))
        else:
            keys: set[str] = set()
            for i, level in enumerate(levels, start=1):
                key = level.get("key") if isinstance(level, Mapping) else None
                if not key or not isinstance(key, str):
                    errors.append(Msg(gettext_noop("Mức %(i)s: thiếu mã mức."), i=i))
                elif key in keys:
                    errors.append(
                        Msg(gettext_noop("Mức %(i)s: mã “%(key)s” bị trùng."), i=i, key=key)
                    )
                else:
                    keys.add(key)
                if not isinstance(level, Mapping) or _fraction(level.get("fraction")) is None:
                    errors.append(
                        Msg(gettext_noop("Mức %(i)s: tỷ lệ điểm phải là số từ 0 đến 1."), i=i)
                    )
    elif kind == "ratio":
        need("numerator", NUMERIC_KINDS - {"percent", "rate"})
        need("denominator", NUMERIC_KINDS - {"percent", "rate"})
    elif kind in ("count_bands", "threshold_bands"):
        if kind == "count_bands":
            need("measure", {"count", "number"})
        elif "measure" in rule:
            need("measure", {"percent", "number", "rate"})
        else:
            need("numerator", NUMERIC_KINDS - {"percent", "rate"})
            need("denominator", NUMERIC_KINDS - {"percent", "rate"})
        bands = rule.get("bands")
        value_key = "points" if kind == "count_bands" else "fraction"
        if not isinstance(bands, list) or not bands:
            errors.append(Msg(gettext_noop("Quy tắc theo khoảng cần ít nhất một khoảng.")))
        else:
            mins: set[Decimal] = set()
            for i, band in enumerate(bands, start=1):
                if not isinstance(band, Mapping):
                    errors.append(Msg(gettext_noop("Khoảng %(i)s không hợp lệ."), i=i))
                    continue
                lo = to_decimal(band.get("min"))
                if lo is None or lo < _ZERO:
                    errors.append(
                        Msg(gettext_noop("Khoảng %(i)s: ngưỡng “min” phải là số không âm."), i=i)
                    )
                elif lo in mins:
                    errors.append(
                        Msg(gettext_noop("Khoảng %(i)s: ngưỡng %(min)s bị trùng."), i=i, min=lo)
                    )
                else:
                    mins.add(lo)
                val = to_decimal(band.get(value_key))
                if kind == "count_bands":
                    if val is None or val < _ZERO or val > max_d:
                        errors.append(
                            Msg(
                                gettext_noop("Khoảng %(i)s: điểm phải từ 0 đến %(max)s."),
                                i=i,
                                max=max_d,
                            )
                        )
                elif _fraction(band.get(value_key)) is None:
                    errors.append(
                        Msg(gettext_noop("Khoảng %(i)s: tỷ lệ điểm phải là số từ 0 đến 1."), i=i)
                    )
    elif kind == "target":
        need("measure", NUMERIC_KINDS)
        target = to_decimal(rule.get("target"))
        if target is None or target <= _ZERO:
            errors.append(Msg(gettext_noop("Chỉ tiêu (target) phải là số lớn hơn 0.")))
    elif kind in ("manual", "external"):
        need("measure", {"number", "count"})
    return errors
