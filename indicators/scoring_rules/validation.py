"""Rule validation: what an administrator may save as a sub-indicator's rule."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .base import (
    _ZERO,
    NUMERIC_KINDS,
    RULE_TYPES,
    _fmt,
    _fraction,
    to_decimal,
)

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
