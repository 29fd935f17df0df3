"""Structural checks of a parsed framework (codes, levels, points adding up), before any write."""

from __future__ import annotations

from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from ..models import Indicator
from .parse import LEVEL_DEPTH, ParsedFramework, ParsedNode, row_error

_CODE_MAX = Indicator._meta.get_field("code").max_length or 20
_DIGITS: int = Indicator._meta.get_field("max_points").max_digits  # type: ignore[union-attr]
_PLACES: int = Indicator._meta.get_field("max_points").decimal_places  # type: ignore[union-attr]
#: The largest points the database stores (``max_digits`` 9, 2 decimals: 9.999.999,99).
MAX_POINTS = Decimal(10) ** (_DIGITS - _PLACES) - Decimal(10) ** -_PLACES


def validate_structure(parsed: ParsedFramework) -> list[str]:
    """Codes unique, parents present and of the right level, children adding up to parents,
    main indices adding up to the total. Fills empty group points with their children's sum."""
    errors: list[str] = []
    by_code: dict[str, ParsedNode] = {}
    for node in parsed.nodes:
        if len(node.code) > _CODE_MAX:
            errors.append(
                row_error(
                    node.row,
                    _("mã “%(code)s” dài quá %(max)s ký tự.")
                    % {"code": node.code[:40], "max": _CODE_MAX},
                )
            )
            continue
        if node.max_points is not None and node.max_points > MAX_POINTS:
            errors.append(
                row_error(
                    node.row,
                    _("điểm tối đa của %(code)s quá lớn (tối đa %(max)s).")
                    % {"code": node.code, "max": format_points(MAX_POINTS)},
                )
            )
            continue
        if node.code in by_code:
            errors.append(
                row_error(
                    node.row,
                    _("mã %(code)s bị trùng với dòng %(other)s.")
                    % {"code": node.code, "other": by_code[node.code].row},
                )
            )
            continue
        by_code[node.code] = node
    if not any(n.level == "main" for n in parsed.nodes):
        errors.append(_("Không tìm thấy chỉ số chính nào trong bảng."))
    expected_parent = {"group": None, "main": "group", "sub": "main", "criterion": "sub"}
    children: dict[str | None, list[ParsedNode]] = {}
    for node in by_code.values():
        if node.parent_code is not None:
            parent = by_code.get(node.parent_code)
            if parent is None:
                what = {
                    "main": _("chỉ số chính"),
                    "sub": _("chỉ số thành phần"),
                    "criterion": _("tiêu chí"),
                    "group": _("nhóm"),
                }[node.level]
                errors.append(
                    row_error(
                        node.row,
                        _("%(what)s %(code)s không có cấp trên %(parent)s trong bảng.")
                        % {"what": what, "code": node.code, "parent": node.parent_code},
                    )
                )
                continue
            if parent.level != expected_parent[node.level]:
                errors.append(
                    row_error(
                        node.row,
                        _("cấp trên %(parent)s của %(code)s không đúng cấp.")
                        % {"parent": parent.code, "code": node.code},
                    )
                )
                continue
        elif node.level in ("sub", "criterion"):
            errors.append(
                row_error(node.row, _("%(code)s không có cấp trên.") % {"code": node.code})
            )
            continue
        children.setdefault(node.parent_code, []).append(node)
    if errors:
        return errors
    # Fill empty group points, then check sums bottom-up.
    for node in sorted(by_code.values(), key=lambda n: -LEVEL_DEPTH[n.level]):
        kids = children.get(node.code, [])
        if node.max_points is None:
            if node.level == "group" and kids and all(k.max_points is not None for k in kids):
                node.max_points = sum((k.max_points or Decimal(0) for k in kids), Decimal(0))
            else:
                errors.append(
                    row_error(
                        node.row,
                        _(
                            "%(code)s thiếu điểm tối đa (nếu ô là công thức, hãy mở tệp bằng "
                            "Excel và lưu lại để có giá trị)."
                        )
                        % {"code": node.code},
                    )
                )
                continue
        if node.max_points < 0:
            errors.append(
                row_error(node.row, _("điểm tối đa của %(code)s là số âm.") % {"code": node.code})
            )
        if kids and all(k.max_points is not None for k in kids):
            total = sum((k.max_points or Decimal(0) for k in kids), Decimal(0))
            if total != node.max_points:
                errors.append(
                    row_error(
                        node.row,
                        _(
                            "tổng điểm các chỉ số con của %(code)s là %(sum)s, khác điểm tối đa "
                            "%(max)s."
                        )
                        % {
                            "code": node.code,
                            "sum": format_points(total),
                            "max": format_points(node.max_points),
                        },
                    )
                )
    if errors:
        return errors
    top = children.get(None, [])
    top_sum = sum((n.max_points or Decimal(0) for n in top), Decimal(0))
    totals: list[tuple[Decimal | None, int | None]] = [
        (parsed.total_points, parsed.total_row),
        (top_sum, None),
    ]
    for big, row in totals:
        if big is not None and big > MAX_POINTS:
            message = _("tổng điểm %(sum)s quá lớn (tối đa %(max)s).") % {
                "sum": format_points(big),
                "max": format_points(MAX_POINTS),
            }
            return [row_error(row, message) if row else message]
    if parsed.total_points is not None and parsed.total_points != top_sum:
        where = parsed.total_row
        message = _("tổng điểm các chỉ số chính là %(sum)s, khác tổng cộng %(total)s.") % {
            "sum": format_points(top_sum),
            "total": format_points(parsed.total_points),
        }
        errors.append(row_error(where, message) if where else message)
    if parsed.total_points is None:
        parsed.total_points = top_sum
    return errors


def format_points(d: Decimal | None) -> str:
    """Points in the reader's number format: 1.000,5 in Vietnamese, 1,000.5 in English."""
    if d is None:
        return "—"
    places = max(0, -int(d.normalize().as_tuple().exponent))
    return number_format(d, decimal_pos=places, use_l10n=True, force_grouping=True)
