"""The province's agency directory in and out: agencies, their other names (aliases) and the
agency groups an appendix names instead of agencies ("Các sở, ban, ngành", "Các địa phương",
"Các doanh nghiệp viễn thông").

A fresh installation loads it before the framework (``import_agencies``), so the appendix's
agency column resolves; ``data/agencies_khanh_hoa.csv`` is Khánh Hòa's, also the demo's.

The file is one flat table (.csv UTF-8 or .xlsx, first sheet), ``DIRECTORY_COLUMNS``, one row per
agency or group:

- ``type``: ``agency`` (cơ quan) or ``group`` (nhóm);
- ``code``: a slug, the key (an existing code is updated in place, never duplicated);
- ``name``; ``short_name`` (agencies only: the abbreviation the appendix may use);
- ``kind``: for an agency one of ``Agency.Kind`` (department, commune, party, police, enterprise,
  other); for a group the kinds it covers, separated by ``;`` (may be empty);
- ``aliases``: other wordings, separated by ``;``;
- ``members``: groups only, agency codes (from the database or the same file) separated by ``;``;
- ``head_email`` (optional column): agencies only, the e-mail address of the agency's head, who
  receives the escalation when the agency misses a deadline (``evidence.services.reminders``); may be empty.
  A file without the column (the earlier layout) leaves the stored addresses as they are; an
  empty cell clears one.

All-or-nothing: any bad row → nothing written, every problem listed with its row number.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from dti_portal.spreadsheet import append_row

from .models import Agency, AgencyAlias, AgencyGroup, AgencyGroupAlias, User
from .services import _require_reviewer, audit, audit_diff
from .spreadsheets import SpreadsheetError, read_table
from .text import normalize_name

DIRECTORY_COLUMNS = ("type", "code", "name", "short_name", "kind", "aliases", "members")
#: Read when present, always exported: files written before it existed still import.
OPTIONAL_COLUMNS = ("head_email",)
AGENCY, GROUP = "agency", "group"
ALIAS_MAX = AgencyAlias._meta.get_field("alias").max_length or 255


def _split(value: str) -> list[str]:
    return [p.strip() for p in (value or "").split(";") if p.strip()]


def _valid_email(value: str) -> bool:
    """What ``Agency.head_email`` (an EmailField, 254 characters) accepts."""
    try:
        validate_email(value)
    except ValidationError:
        return False
    return len(value) <= 254


@dataclass
class DirectoryImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    #: Codes of deactivated agencies the file lists: importing it makes them active again
    #: (the file is the Sở's list of the agencies that report), so the preview names them.
    reactivated: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def read_directory_rows(data: bytes, filename: str) -> list[dict[str, str]]:
    """Rows of a directory file; raises ``SpreadsheetError`` for a file that cannot be read.

    A row has the ``OPTIONAL_COLUMNS`` keys only when the file has those columns: ``read_table``
    requires every column it is given, so a file without them is read again without them (its
    error, if any, then names only the required columns).
    """
    try:
        return read_table(data, filename, DIRECTORY_COLUMNS + OPTIONAL_COLUMNS)
    except SpreadsheetError:
        return read_table(data, filename, DIRECTORY_COLUMNS)


def _check_rows(rows: list[dict[str, str]]) -> list[str]:
    """Every problem of the file, with its row number (the database is only read)."""
    errors: list[str] = []
    codes: dict[tuple[str, str], str] = {}
    names: dict[str, str] = {}
    file_agencies = set()
    for row in rows:
        n = str(row.get("_row", "?"))
        kind_of_row = (row.get("type") or "").strip().lower()
        code = (row.get("code") or "").strip()
        name = (row.get("name") or "").strip()
        prefix = _("Dòng %(n)s") % {"n": n}
        if kind_of_row not in (AGENCY, GROUP):
            errors.append(
                _("%(p)s: loại dòng “%(t)s” không hợp lệ (agency hoặc group).")
                % {"p": prefix, "t": kind_of_row[:30]}
            )
            continue
        if not code or slugify(code) != code or len(code) > 50:
            errors.append(
                _("%(p)s: mã “%(c)s” không hợp lệ (chữ thường không dấu, số, gạch nối).")
                % {"p": prefix, "c": code[:60]}
            )
        elif (kind_of_row, code) in codes:
            errors.append(
                _("%(p)s: mã “%(c)s” lặp lại (dòng %(m)s).")
                % {"p": prefix, "c": code, "m": codes[(kind_of_row, code)]}
            )
        codes[(kind_of_row, code)] = n
        if not name or len(name) > 255:
            errors.append(_("%(p)s: thiếu tên hoặc tên quá dài.") % {"p": prefix})
        for alias in _split(row.get("aliases", "")):
            if len(alias) > ALIAS_MAX:
                errors.append(
                    _("%(p)s: tên gọi khác “%(t)s…” dài quá %(max)s ký tự.")
                    % {"p": prefix, "t": alias[:40], "max": ALIAS_MAX}
                )
        for text in [name, *_split(row.get("aliases", ""))]:
            key = normalize_name(text)
            if key and key in names and names[key] != n:
                errors.append(
                    _("%(p)s: tên “%(t)s” đã dùng ở dòng %(m)s.")
                    % {"p": prefix, "t": text, "m": names[key]}
                )
            names.setdefault(key, n)
        kinds = _split(row.get("kind", ""))
        if kind_of_row == AGENCY:
            file_agencies.add(code)
            if len(kinds) != 1 or kinds[0] not in Agency.Kind.values:
                errors.append(
                    _("%(p)s: loại cơ quan “%(k)s” không hợp lệ (%(all)s).")
                    % {"p": prefix, "k": row.get("kind", "")[:30], "all": ", ".join(Agency.Kind)}
                )
            if len(row.get("short_name") or "") > 100:
                errors.append(_("%(p)s: tên viết tắt quá dài.") % {"p": prefix})
            if row.get("members"):
                errors.append(_("%(p)s: chỉ nhóm mới có thành viên.") % {"p": prefix})
            head_email = (row.get("head_email") or "").strip()
            if head_email and not _valid_email(head_email):
                errors.append(
                    _("%(p)s: email thủ trưởng “%(e)s” không hợp lệ.")
                    % {"p": prefix, "e": head_email[:80]}
                )
        else:
            if (row.get("head_email") or "").strip():
                errors.append(_("%(p)s: chỉ cơ quan mới có email thủ trưởng.") % {"p": prefix})
            bad = [k for k in kinds if k not in Agency.Kind.values]
            if bad:
                errors.append(
                    _("%(p)s: loại cơ quan “%(k)s” không hợp lệ (%(all)s).")
                    % {"p": prefix, "k": "; ".join(bad)[:60], "all": ", ".join(Agency.Kind)}
                )
    known = set(Agency.objects.values_list("code", flat=True)) | file_agencies
    for row in rows:
        if (row.get("type") or "").strip().lower() != GROUP:
            continue
        missing = [m for m in _split(row.get("members", "")) if m not in known]
        if missing:
            errors.append(
                _("Dòng %(n)s: không có cơ quan mã %(codes)s.")
                % {"n": row.get("_row", "?"), "codes": ", ".join(missing)}
            )
    return errors


def _clashes(rows: list[dict[str, str]]) -> list[str]:
    """Names or aliases of the file that already name another agency or group in the database."""
    errors: list[str] = []
    taken: dict[str, tuple[str, str]] = {}
    for a in Agency.objects.all():
        taken[a.normalized_name] = (AGENCY, a.code)
    for al in AgencyAlias.objects.select_related("agency"):
        taken[al.normalized] = (AGENCY, al.agency.code)
    for g in AgencyGroup.objects.all():
        taken[g.normalized_name] = (GROUP, g.code)
    for gal in AgencyGroupAlias.objects.select_related("group"):
        taken[gal.normalized] = (GROUP, gal.group.code)
    for row in rows:
        me = ((row.get("type") or "").strip().lower(), (row.get("code") or "").strip())
        for text in [row.get("name", ""), *_split(row.get("aliases", ""))]:
            owner = taken.get(normalize_name(text))
            if owner is not None and owner != me:
                errors.append(
                    _("Dòng %(n)s: tên “%(t)s” đã là tên của %(code)s.")
                    % {"n": row.get("_row", "?"), "t": text, "code": owner[1]}
                )
    return errors


def _add_aliases(model: Any, owner_field: str, owner: Any, row: dict[str, str]) -> None:
    """The row's aliases not yet known (``_clashes`` already refused other owners' names)."""
    for alias in _split(row.get("aliases", "")):
        key = normalize_name(alias)
        if key != owner.normalized_name and not model.objects.filter(normalized=key).exists():
            model.objects.create(**{owner_field: owner, "alias": alias})


@transaction.atomic
def agency_directory_import(
    *,
    actor: User | None,
    rows: list[dict[str, str]],
    dry_run: bool = False,
    request_id: str = "",
) -> DirectoryImportResult:
    """Creates or updates agencies and groups from ``rows`` (see the module docstring).

    Agencies first, then groups (their members may be agencies of the same file). Aliases are
    added, never removed; a group's explicit members are replaced by the file's. ``actor`` None
    is the command line; otherwise a reviewer or an administrator.
    """
    if actor is not None:
        _require_reviewer(actor)
    result = DirectoryImportResult(dry_run=dry_run)
    if not rows:
        result.errors.append(_("Tệp không có dòng dữ liệu nào."))
        return result
    result.errors.extend(_check_rows(rows))
    if not result.errors:
        result.errors.extend(_clashes(rows))
    if result.errors:
        return result
    agencies = [r for r in rows if r["type"].strip().lower() == AGENCY]
    groups = [r for r in rows if r["type"].strip().lower() == GROUP]
    known_agencies = Agency.objects.in_bulk(
        [r["code"].strip() for r in agencies], field_name="code"
    )
    known_groups = AgencyGroup.objects.in_bulk(
        [r["code"].strip() for r in groups], field_name="code"
    )
    for row in agencies:
        code = row["code"].strip()
        agency = known_agencies.get(code)
        (result.updated if agency else result.created).append(code)
        if agency is not None and not agency.is_active:
            result.reactivated.append(code)
        if dry_run:
            continue
        agency = agency or Agency(code=code)
        agency.name = row["name"].strip()
        agency.short_name = (row.get("short_name") or "").strip()
        agency.kind = _split(row["kind"])[0]
        if "head_email" in row:  # the column is optional: absent, the stored address stays
            agency.head_email = row["head_email"].strip()
        agency.is_active = True
        agency.save()
        _add_aliases(AgencyAlias, "agency", agency, row)
    # Who each group expands to, before → after, for the groups the file changed.
    groups_changed: dict[str, dict[str, Any]] = {}
    for row in groups:
        code = row["code"].strip()
        group = known_groups.get(code)
        (result.updated if group else result.created).append(code)
        if dry_run:
            continue
        before = group.audit_state() if group else None
        group = group or AgencyGroup(code=code)
        group.name = row["name"].strip()
        group.kinds = _split(row.get("kind", ""))
        group.save()
        group.members.set(Agency.objects.filter(code__in=_split(row.get("members", ""))))
        _add_aliases(AgencyGroupAlias, "group", group, row)
        if before is not None:
            diff = audit_diff(before, group.audit_state())
            if diff:
                groups_changed[code] = diff
    if not dry_run:
        audit(
            actor=actor,
            action="agency.directory_import",
            data={
                "created": result.created,
                "updated": result.updated,
                "reactivated": result.reactivated,
                "groups_changed": groups_changed,
            },
            request_id=request_id,
        )
    return result


def export_directory_xlsx() -> bytes:
    """The directory as the import file (.xlsx): importing it back changes nothing."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Danh mục cơ quan"
    append_row(ws, [*DIRECTORY_COLUMNS, *OPTIONAL_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for a in Agency.objects.filter(is_active=True).prefetch_related("aliases").order_by("code"):
        aliases = "; ".join(al.alias for al in a.aliases.all())
        append_row(ws, [AGENCY, a.code, a.name, a.short_name, a.kind, aliases, "", a.head_email])
    for g in AgencyGroup.objects.prefetch_related("aliases", "members").order_by("code"):
        append_row(
            ws,
            [
                GROUP,
                g.code,
                g.name,
                "",
                "; ".join(g.kinds or []),
                "; ".join(al.alias for al in g.aliases.all()),
                "; ".join(sorted(m.code for m in g.members.all())),
                "",
            ],
        )
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
