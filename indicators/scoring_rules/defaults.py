"""A default rule and measures for a sub-indicator from its wording (frameworks imported
without rules)."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

from .base import (
    _ZERO,
    to_decimal,
)

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
    code: str, name: str, max_points: Decimal, *, ministry_measured: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A sensible default rule and measures for a sub-indicator whose official rule is unknown.

    By the wording of its name (DOMAIN.md §5), in this order: 0 max points → informational;
    "Người đứng đầu … Trưởng ban" → levels (full / half / none); "…/100 dân", "…/1000 dân",
    "trên 100 dân", "Số lượng…", "Tổng chi Ngân sách…" → value against a documented target
    (``_TARGETS``); "Tỷ lệ…" (and "Sở, ban, ngành, địa phương có…", "Số điểm … có …") → ratio with
    numerator/denominator measures labelled in Vietnamese; "Tỷ trọng X trong Y" → ratio X/Y;
    "Mức độ…" → levels; anything else ("Ban hành…", "… có …", "Triển khai…") → yes/no.
    A sub-indicator the Ministry measures itself (``ministry_measured``, DOMAIN.md §3) → external:
    the province can only enter the points it expects, whatever the wording.
    ``code`` is accepted for callers' convenience and future overrides; the choice uses the name.
    """
    del code  # the default depends on the wording only
    text = _clean_name(name)
    low = text.lower()
    mx = to_decimal(max_points) or _ZERO

    if mx > _ZERO and ministry_measured:
        return {"type": "external", "measure": "expected_points"}, [
            _measure("expected_points", "Điểm dự kiến (Bộ KH&CN tự đo)", "number", "điểm"),
            _measure("note", "Căn cứ ước tính", "text", required=False),
        ]

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
        # A figure per 100/1000 inhabitants is a rate: never added up across agencies.
        kind = "rate" if per_population else ("count" if low.startswith("số lượng") else "number")
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
