"""Importing a framework from an .xlsx file: all-or-nothing, with a dry run and an agency mapping.

Steps: safe load (``agencies.spreadsheets``) → parse (``indicators.importer``) → structure and
points checks → agency names resolved (unknown names listed; mapped by the reviewer to an
existing agency, which records the name as an alias, or created on explicit request) → a default
rule and measures (``indicators.scoring_rules.default_rule_and_measures``) for sub-indicators the
file does not define, every rule checked with ``validate_rule`` → writes inside one transaction.
A dry run performs every step, writes included, then rolls back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from agencies.matching import Match, NameResolver
from agencies.models import Agency, AgencyAlias, User
from agencies.services import agency_alias_add, agency_create, audit
from agencies.spreadsheets import SpreadsheetError, load_xlsx
from agencies.text import normalize_name
from dti_portal.errors import NotAllowed

from .. import scoring_rules
from ..importer import ParsedFramework, ParseError, parse_workbook, validate_structure
from ..importer.parse import row_error
from ..models import Framework, Indicator, Measure, natural_sort_key
from .lifecycle import measure_rows

CREATE = "create"
#: The years a framework may have (the upload form's bounds).
YEAR_MIN, YEAR_MAX = 2000, 2100
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+\Z")  # Django's validate_slug


class ImportFailed(Exception):
    """The file was refused; nothing was written. ``report`` holds what was understood."""

    def __init__(self, report: ImportReport):
        super().__init__("; ".join(report.errors))
        self.report = report


@dataclass
class UnknownAgency:
    name: str
    rows: list[int] = field(default_factory=list)
    suggested_kind: str = Agency.Kind.OTHER


@dataclass
class ImportReport:
    """What an import (or a dry run) found and did; shown by the command and the upload page."""

    layout: str = ""
    code: str = ""
    name: str = ""
    unit_type: str = ""
    total_points: Decimal = Decimal(0)
    main_indices: list[dict[str, Any]] = field(default_factory=list)
    group_count: int = 0
    sub_count: int = 0
    scored_sub_count: int = 0
    criterion_count: int = 0
    agencies_matched: list[str] = field(default_factory=list)
    unknown_agencies: list[UnknownAgency] = field(default_factory=list)
    created_agencies: list[str] = field(default_factory=list)
    default_rules: int = 0
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False
    framework_id: int | None = None

    @property
    def unit_type_label(self) -> str:
        return str(Framework.UnitType(self.unit_type).label) if self.unit_type else ""

    @property
    def scored_main_count(self) -> int:
        return sum(1 for m in self.main_indices if Decimal(m["max_points"]) > 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "code": self.code,
            "name": self.name,
            "unit_type": self.unit_type,
            "total_points": str(self.total_points),
            "main_indices": self.main_indices,
            "sub_count": self.sub_count,
            "scored_sub_count": self.scored_sub_count,
            "agencies_matched": self.agencies_matched,
            "unknown_agencies": [
                {"name": u.name, "rows": u.rows, "suggested_kind": u.suggested_kind}
                for u in self.unknown_agencies
            ],
            "created_agencies": self.created_agencies,
            "errors": self.errors,
            "dry_run": self.dry_run,
            "framework_id": self.framework_id,
        }


def guess_agency_kind(name: str) -> str:
    key = normalize_name(name)
    if key.startswith(("ubnd xa", "ubnd phuong", "xa ", "phuong ", "ubnd thi tran")):
        return Agency.Kind.COMMUNE
    if key.startswith("cong an"):
        return Agency.Kind.POLICE
    if key.startswith(("so ", "van phong ubnd", "thanh tra", "ban quan ly")):
        return Agency.Kind.DEPARTMENT
    if key.startswith(("tinh uy", "van phong tinh uy", "ban tuyen giao", "ban to chuc")):
        return Agency.Kind.PARTY
    if key.startswith(("cong ty", "tong cong ty", "vnpt", "viettel", "mobifone", "ngan hang")):
        return Agency.Kind.ENTERPRISE
    return Agency.Kind.OTHER


def _require_manager(actor: User | None) -> None:
    if actor is not None and not actor.is_reviewer:
        raise NotAllowed(_("Chỉ Sở KH&CN hoặc quản trị viên được nhập bộ chỉ số."))


def _resolve_mapping(
    agency_mapping: dict[str, str] | None,
) -> tuple[dict[str, Match], dict[str, str]]:
    """Splits the reviewer's mapping (unknown name → agency id, or "create[:kind]") into
    names resolved to existing agencies and names to create (name → kind)."""
    extra: dict[str, Match] = {}
    to_create: dict[str, str] = {}
    for name, target in (agency_mapping or {}).items():
        if not target:
            continue
        if target.startswith(CREATE):
            kind = target.split(":", 1)[1] if ":" in target else guess_agency_kind(name)
            to_create[name] = kind if kind in Agency.Kind.values else Agency.Kind.OTHER
            continue
        # ASCII digits only: "²" is a digit to str.isdigit but no number to int().
        is_id = target.isascii() and target.isdigit()
        agency = Agency.objects.filter(pk=int(target) if is_id else -1).first()
        if agency is not None:
            extra[normalize_name(name)] = Match("agency", agency.pk, agency.name)
    return extra, to_create


def _header_errors(*, name: str, decision: str, unit_type: str) -> list[str]:
    """The framework's own fields, from the form or the file's title rows: refused when they do
    not fit (a title cell of any length can reach here)."""
    too_long = {
        "name": _(
            "Tên bộ chỉ số dài %(n)s ký tự, quá giới hạn %(max)s ký tự: hãy nhập tên ngắn "
            "hơn khi nhập tệp."
        ),
        "decision": _(
            "Văn bản ban hành dài %(n)s ký tự, quá giới hạn %(max)s ký tự: hãy nhập "
            "ngắn hơn khi nhập tệp."
        ),
    }
    errors = []
    for field_name, value in (("name", name), ("decision", decision)):
        field = Framework._meta.get_field(field_name)
        limit = getattr(field, "max_length", None) or 255
        if len(value) > limit:
            errors.append(too_long[field_name] % {"n": len(value), "max": limit})
    if unit_type not in Framework.UnitType.values:
        errors.append(_("Đối tượng đánh giá “%(value)s” không hợp lệ.") % {"value": unit_type[:50]})
    return errors


def _code_and_year_errors(*, code: str, year: int) -> list[str]:
    """The framework's code and year as the upload form takes them (the command passes them
    as typed)."""
    errors = []
    limit = Framework._meta.get_field("code").max_length or 50
    if not code or len(code) > limit or not _SLUG.match(code):
        errors.append(
            _(
                "Mã bộ chỉ số “%(code)s” không hợp lệ: chỉ gồm chữ không dấu, số, gạch nối hoặc "
                "gạch dưới, tối đa %(max)s ký tự."
            )
            % {"code": code[:60], "max": limit}
        )
    if not YEAR_MIN <= year <= YEAR_MAX:
        errors.append(
            _("Năm %(year)s không hợp lệ (từ %(min)s đến %(max)s).")
            % {"year": year, "min": YEAR_MIN, "max": YEAR_MAX}
        )
    return errors


@transaction.atomic
def framework_import(
    *,
    actor: User | None,
    data: bytes,
    code: str,
    year: int,
    name: str = "",
    decision: str = "",
    unit_type: str = "",
    file_name: str = "",
    dry_run: bool = False,
    agency_mapping: dict[str, str] | None = None,
    create_unknown_agencies: bool = False,
    request_id: str = "",
) -> ImportReport:
    """Imports a framework as a new draft (see the module docstring).

    Raises ``ImportFailed`` (nothing written) with row-numbered Vietnamese errors. ``actor``
    None is the command line; otherwise the actor must be a reviewer or an admin.
    """
    _require_manager(actor)
    report = ImportReport(code=code, dry_run=dry_run)
    report.errors.extend(_code_and_year_errors(code=code, year=year))
    if report.errors:
        raise ImportFailed(report)
    if Framework.objects.filter(code=code).exists():
        report.errors.append(_("Mã bộ chỉ số “%(code)s” đã được dùng.") % {"code": code})
        raise ImportFailed(report)
    try:
        wb = load_xlsx(data)
        parsed = parse_workbook(wb)
    except SpreadsheetError as exc:
        report.errors.append(str(exc))
        raise ImportFailed(report) from exc
    except ParseError as exc:
        report.errors.extend(exc.errors)
        raise ImportFailed(report) from exc
    report.layout = parsed.layout
    report.errors.extend(validate_structure(parsed))
    if report.errors:
        raise ImportFailed(report)

    extra, to_create = _resolve_mapping(agency_mapping)
    resolver = NameResolver(extra=extra)
    _summarise(parsed, report)
    assignments, unknown = _resolve_agencies(parsed, resolver, report)
    pending = dict(to_create)
    for agency_name, u in unknown.items():
        if agency_name in pending or create_unknown_agencies:
            pending.setdefault(agency_name, u.suggested_kind)
        else:
            report.unknown_agencies.append(u)
    if report.unknown_agencies:
        names = "; ".join(
            f"“{u.name}” ({_('dòng')} {', '.join(map(str, u.rows))})"
            for u in report.unknown_agencies
        )
        report.errors.append(
            _(
                "Có %(n)s cơ quan chưa có trong danh mục: %(names)s. Hãy ánh xạ tới cơ quan đã có, "
                "thêm tên gọi khác, hoặc cho phép tạo mới."
            )
            % {"n": len(report.unknown_agencies), "names": names}
        )
    report.errors.extend(_agency_name_errors(unknown, pending, extra, agency_mapping))
    rules = _rules(parsed, report)
    name = name or parsed.meta.get("name") or parsed.title or code
    decision = decision or parsed.decision
    unit_type = unit_type or parsed.meta.get("unit_type") or Framework.UnitType.PROVINCE
    report.errors.extend(_header_errors(name=name, decision=decision, unit_type=unit_type))
    if unit_type in Framework.UnitType.values:
        report.unit_type = unit_type
    if report.errors:
        raise ImportFailed(report)

    # --- writes ---------------------------------------------------------------------------------
    for alias_key, match in extra.items():
        original = next((n for n in (agency_mapping or {}) if normalize_name(n) == alias_key), "")
        agency = Agency.objects.get(pk=match.id)
        agency_alias_add(actor=actor, agency=agency, alias=original, request_id=request_id)
    for new_name, kind in pending.items():
        if normalize_name(new_name) not in {normalize_name(n) for n in unknown}:
            continue
        agency = agency_create(actor=actor, name=new_name, kind=kind, request_id=request_id)
        resolver.index[normalize_name(new_name)] = Match("agency", agency.pk, agency.name)
        report.created_agencies.append(agency.name)
    if pending:
        assignments, still_unknown = _resolve_agencies(parsed, resolver, None)
        assert not still_unknown

    framework = Framework.objects.create(
        code=code,
        name=name,
        year=year,
        decision=decision,
        unit_type=unit_type,
        total_points=parsed.total_points or Decimal(0),
        source_file_name=file_name[:255],
        created_by=actor if actor is not None else None,
    )
    report.name = framework.name
    report.framework_id = framework.pk
    _write_nodes(actor, framework, parsed, assignments, rules)
    audit(
        actor=actor,
        action="framework.import",
        obj=framework,
        data={"file": file_name, "layout": parsed.layout, "dry_run": dry_run},
        request_id=request_id,
    )
    if dry_run:
        transaction.set_rollback(True)
        report.framework_id = None
    return report


def _agency_name_errors(
    unknown: dict[str, UnknownAgency],
    pending: dict[str, str],
    extra: dict[str, Match],
    agency_mapping: dict[str, str] | None,
) -> list[str]:
    """Names the import would store that do not fit their column: an agency to create, or an
    alias (a name mapped to an existing agency)."""
    name_max = Agency._meta.get_field("name").max_length or 255
    alias_max = AgencyAlias._meta.get_field("alias").max_length or 255
    rows = {normalize_name(n): u.rows for n, u in unknown.items()}
    errors = []
    for new_name in pending:
        where = rows.get(normalize_name(new_name))
        if where and len(new_name.strip()) > name_max:
            errors.append(
                row_error(
                    where[0],
                    _("tên cơ quan “%(name)s…” dài quá %(max)s ký tự.")
                    % {"name": new_name[:40], "max": name_max},
                )
            )
    for mapped in agency_mapping or {}:
        if normalize_name(mapped) in extra and len(mapped.strip()) > alias_max:
            errors.append(
                _("Tên cơ quan “%(name)s…” dài quá %(max)s ký tự, không làm tên gọi khác được.")
                % {"name": mapped[:40], "max": alias_max}
            )
    return errors


def _summarise(parsed: ParsedFramework, report: ImportReport) -> None:
    report.total_points = parsed.total_points or Decimal(0)
    subs_per_main: dict[str, int] = {}
    for n in parsed.nodes:
        if n.level == "sub" and n.parent_code:
            subs_per_main[n.parent_code] = subs_per_main.get(n.parent_code, 0) + 1
    for n in parsed.nodes:
        if n.level == "group":
            report.group_count += 1
        elif n.level == "main":
            report.main_indices.append(
                {
                    "code": n.code,
                    "name": n.name,
                    "max_points": str(n.max_points),
                    "sub_count": subs_per_main.get(n.code, 0),
                }
            )
        elif n.level == "sub":
            report.sub_count += 1
            if n.max_points and n.max_points > 0:
                report.scored_sub_count += 1
        else:
            report.criterion_count += 1


@dataclass
class _Assignment:
    lead: int | None = None
    agencies: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)


def _resolve_agencies(
    parsed: ParsedFramework, resolver: NameResolver, report: ImportReport | None
) -> tuple[dict[str, _Assignment], dict[str, UnknownAgency]]:
    assignments: dict[str, _Assignment] = {}
    unknown: dict[str, UnknownAgency] = {}
    matched: dict[int, str] = {}

    def note_unknown(name: str, row: int) -> None:
        u = unknown.setdefault(
            name, UnknownAgency(name=name, suggested_kind=guess_agency_kind(name))
        )
        if row not in u.rows:
            u.rows.append(row)

    for node in parsed.nodes:
        if node.level not in ("sub", "criterion") and not (node.lead_text or node.coord_text):
            continue
        a = _Assignment()
        lead = resolver.resolve_cell(node.lead_text)
        for name in lead.unknown:
            note_unknown(name, node.row)
        if lead.groups and report is not None:
            report.errors.append(
                row_error(
                    node.row,
                    _("cơ quan chủ trì của %(code)s phải là một cơ quan, không phải nhóm “%(g)s”.")
                    % {"code": node.code, "g": lead.groups[0].name},
                )
            )
        if len(lead.agencies) > 1 and report is not None:
            report.errors.append(
                row_error(
                    node.row,
                    _("%(code)s có nhiều cơ quan chủ trì (%(names)s); chỉ được một.")
                    % {"code": node.code, "names": ", ".join(m.name for m in lead.agencies)},
                )
            )
        if lead.agencies:
            a.lead = lead.agencies[0].id
            matched[a.lead] = lead.agencies[0].name
        coord = resolver.resolve_cell(node.coord_text)
        for name in coord.unknown:
            note_unknown(name, node.row)
        a.agencies = [m.id for m in coord.agencies if m.id != a.lead]
        a.groups = [m.id for m in coord.groups]
        for m in coord.agencies:
            matched[m.id] = m.name
        assignments[node.code] = a
    if report is not None:
        report.agencies_matched = sorted(set(matched.values()))
    return assignments, unknown


_MEASURE_CODE_MAX = Measure._meta.get_field("code").max_length or 50
_MEASURE_LABEL_MAX = Measure._meta.get_field("label").max_length or 255
_MEASURE_UNIT_MAX = Measure._meta.get_field("unit").max_length or 50


def _measure_column_problem(i: int, m: dict[str, Any]) -> str:
    """What of a template's measure definition does not fit its column ("" when it fits)."""
    code, label, unit = m["code"], m["label"], m.get("unit") or ""
    # The edit page's rule (``lifecycle._check_measures``), and the column's length.
    if (
        not isinstance(code, str)
        or len(code) > _MEASURE_CODE_MAX
        or not code.replace("_", "").replace("-", "").isalnum()
    ):
        return _(
            "số liệu thứ %(i)s có mã “%(code)s” không hợp lệ (chữ, số, gạch nối hoặc gạch "
            "dưới, tối đa %(max)s ký tự)."
        ) % {"i": i, "code": str(code)[:60], "max": _MEASURE_CODE_MAX}
    if not isinstance(label, str) or len(label) > _MEASURE_LABEL_MAX:
        return _("số liệu thứ %(i)s có nhãn dài quá %(max)s ký tự.") % {
            "i": i,
            "max": _MEASURE_LABEL_MAX,
        }
    if not isinstance(unit, str) or len(unit) > _MEASURE_UNIT_MAX:
        return _("số liệu thứ %(i)s có đơn vị dài quá %(max)s ký tự.") % {
            "i": i,
            "max": _MEASURE_UNIT_MAX,
        }
    return ""


def _rules(
    parsed: ParsedFramework, report: ImportReport
) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The rule and measures of every sub-indicator (from the file, or the default), checked."""
    out: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    kinds = set(Measure.Kind.values)
    for node in parsed.nodes:
        if node.level != "sub":
            continue
        rule, measures = node.scoring_rule, node.measures
        if not rule:
            default_rule, default_measures = scoring_rules.default_rule_and_measures(
                node.code,
                node.name,
                node.max_points or Decimal(0),
                ministry_measured=node.is_ministry_measured,
            )
            rule = default_rule
            measures = measures or default_measures
            report.default_rules += 1
        measures = measures or []
        codes: dict[str, str] = {}
        for i, m in enumerate(measures, start=1):
            if not isinstance(m, dict) or not m.get("code") or not m.get("label"):
                report.errors.append(
                    row_error(node.row, _("số liệu thứ %(i)s thiếu mã hoặc nhãn.") % {"i": i})
                )
                continue
            if m.get("kind") not in kinds:
                report.errors.append(
                    row_error(
                        node.row,
                        _("số liệu “%(code)s” có kiểu “%(kind)s” không hợp lệ.")
                        % {"code": m["code"], "kind": m.get("kind")},
                    )
                )
                continue
            problem = _measure_column_problem(i, m)
            if problem:
                report.errors.append(row_error(node.row, problem))
                continue
            if m["code"] in codes:
                report.errors.append(
                    row_error(node.row, _("mã số liệu “%(code)s” bị trùng.") % {"code": m["code"]})
                )
            codes[m["code"]] = m["kind"]
        for message in scoring_rules.validate_rule(rule, codes, node.max_points or Decimal(0)):
            report.errors.append(
                row_error(
                    node.row,
                    _("quy tắc tính điểm của %(code)s: %(m)s") % {"code": node.code, "m": message},
                )
            )
        out[node.code] = (rule, measures)
    return out


def _write_nodes(
    actor: User | None,
    framework: Framework,
    parsed: ParsedFramework,
    assignments: dict[str, _Assignment],
    rules: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]],
) -> None:
    created: dict[str, Indicator] = {}
    through_agencies = Indicator.coordinating_agencies.through
    through_groups = Indicator.coordinating_groups.through
    agency_links = []
    group_links = []
    new_measures: list[Measure] = []
    now = timezone.now()
    for level in ("group", "main", "sub", "criterion"):
        batch = [n for n in parsed.nodes if n.level == level]
        objs = []
        for node in batch:
            a = assignments.get(node.code, _Assignment())
            rule, _measures = rules.get(node.code, ({}, []))
            objs.append(
                Indicator(
                    framework=framework,
                    parent=created.get(node.parent_code) if node.parent_code else None,
                    level=node.level,
                    code=node.code,
                    sort_key=natural_sort_key(node.code),
                    name=node.name,
                    max_points=node.max_points or Decimal(0),
                    scoring_method=node.scoring_method,
                    evidence_guidance=node.evidence_guidance,
                    is_ministry_measured=node.is_ministry_measured,
                    scoring_rule=rule,
                    lead_agency_id=a.lead,
                )
            )
        saved = bulk_create_with_history(objs, Indicator, batch_size=500, default_user=actor)
        for node, ind in zip(batch, saved, strict=True):
            created[node.code] = ind
            a = assignments.get(node.code, _Assignment())
            _rule, measures = rules.get(node.code, ({}, []))
            agency_links += [through_agencies(indicator_id=ind.pk, agency_id=x) for x in a.agencies]
            group_links += [through_groups(indicator_id=ind.pk, agencygroup_id=x) for x in a.groups]
            new_measures += measure_rows(indicator=ind, definitions=measures, now=now)
    through_agencies.objects.bulk_create(agency_links, batch_size=500)
    through_groups.objects.bulk_create(group_links, batch_size=500)
    Measure.objects.bulk_create(new_measures, batch_size=500)
