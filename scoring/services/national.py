"""Published national results: the Ministry's table imported, DTI and ranks recomputed."""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from agencies.services import audit
from agencies.spreadsheets import MAX_COLUMNS, MAX_ROWS, SpreadsheetError, load_xlsx
from dti_portal.errors import NotAllowed, NotFound, ValidationFailed
from indicators.models import Framework, Indicator

from .. import engine
from ..models import NationalResult
from .recompute import _q

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NationalRow:
    province: str
    values: dict[str, Decimal]
    dti: Decimal
    rank: int
    published_dti: Decimal | None
    published_rank: int | None


def ranks_differing(rows: list[NationalRow]) -> list[NationalRow]:
    """The rows whose published rank is not the rank recomputed from their main-index values
    (the pages show the published one; the import reports these so the table can be checked)."""
    return [r for r in rows if r.published_rank is not None and r.published_rank != r.rank]


def _read_table(data: bytes, file_name: str) -> list[list[Any]]:
    """The rows of a .csv (UTF-8) or of the first sheet of an .xlsx (checked like every
    workbook upload: size, zip bombs, macros, XML through defusedxml), at most ``MAX_ROWS``."""
    suffix = Path(file_name).suffix.lower()
    too_many = _("Tệp quá lớn (tối đa %(rows)s dòng).") % {"rows": MAX_ROWS}
    rows: list[list[Any]] = []
    if suffix == ".csv":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(_("Tệp CSV phải được lưu với bảng mã UTF-8.")) from exc
        try:
            for row in csv.reader(io.StringIO(text)):
                rows.append(list(row))
                if len(rows) > MAX_ROWS:
                    raise ValidationFailed(too_many)
        except csv.Error as exc:  # e.g. a field longer than the csv module allows
            raise ValidationFailed(_("Tệp CSV không đọc được: %(e)s") % {"e": exc}) from exc
        return rows
    if suffix == ".xlsx":
        try:
            wb = load_xlsx(data, read_only=True)
            try:
                # Read-only mode parses the sheet only now: a damaged sheet fails here.
                for values in wb.worksheets[0].iter_rows(values_only=True):
                    rows.append(list(values[:MAX_COLUMNS]))
                    if len(rows) > MAX_ROWS:
                        raise ValidationFailed(too_many)
            finally:
                wb.close()
        except SpreadsheetError as exc:
            raise ValidationFailed(str(exc), errors={"file": [str(exc)]}) from exc
        except ValidationFailed:
            raise
        except Exception as exc:  # openpyxl raises many kinds on a malformed sheet
            msg = _("Không đọc được tệp Excel: nội dung bị hỏng hoặc không hợp lệ.")
            raise ValidationFailed(msg, errors={"file": [msg]}) from exc
        return rows
    raise ValidationFailed(_("Chỉ nhận tệp .csv hoặc .xlsx."))


def _cell_decimal(raw: Any) -> Decimal | None:
    if raw is None:
        return None
    if isinstance(raw, float):
        raw = repr(raw)
    text = str(raw).strip().replace(",", ".")
    if not text:
        return None
    try:
        d = Decimal(text)
    except InvalidOperation:  # not a number: the caller reports the cell
        return None
    return d if d.is_finite() else None


def parse_national_table(data: bytes, file_name: str, framework: Framework) -> list[NationalRow]:
    """Reads a published national table and computes each province's DTI and rank.

    Columns: ``province``, one per scored main-index code (value 0–1), optional ``dti`` and
    ``rank``. Raises ValidationFailed with row-numbered Vietnamese messages when anything is wrong.
    """
    rows = _read_table(data, file_name)
    while rows and not any(c not in (None, "") for c in rows[0]):
        rows.pop(0)
    if not rows:
        raise ValidationFailed(_("Tệp không có dữ liệu."))
    header = [str(c).strip().rstrip(".").lower() if c is not None else "" for c in rows[0]]
    weights = dict(
        Indicator.objects.filter(framework=framework, level="main")
        .order_by("sort_key")
        .values_list("code", "max_points")
    )
    scored = {c: w for c, w in weights.items() if w > 0}
    total = sum(scored.values(), Decimal(0))
    errors: list[str] = []
    if not scored or total <= 0:
        raise ValidationFailed(_("Bộ chỉ số chưa có chỉ số chính có điểm."))
    col: dict[str, int] = {}
    for i, name in enumerate(header):
        if name and name not in col:
            col[name] = i
    if "province" not in col:
        errors.append(_("Thiếu cột “province” (tỉnh, thành phố)."))
    missing = [c for c in scored if c.lower().rstrip(".") not in col]
    if missing:
        errors.append(_("Thiếu cột của chỉ số chính: %(codes)s.") % {"codes": ", ".join(missing)})
    if errors:
        raise ValidationFailed(" ".join(errors), errors={"file": errors})
    parsed: list[tuple[str, dict[str, Decimal], Decimal | None, int | None]] = []
    seen: set[str] = set()
    for number, row in enumerate(rows[1:], start=2):
        if not any(c not in (None, "") for c in row):
            continue
        cells = list(row) + [None] * (len(header) - len(row))
        province = str(cells[col["province"]] or "").strip()
        if not province:
            errors.append(_("Dòng %(row)d: thiếu tên tỉnh, thành phố.") % {"row": number})
            continue
        if province.lower() in seen:
            errors.append(
                _("Dòng %(row)d: tỉnh “%(p)s” bị trùng.") % {"row": number, "p": province}
            )
        seen.add(province.lower())
        values: dict[str, Decimal] = {}
        for code in scored:
            raw = cells[col[code.lower().rstrip(".")]]
            d = _cell_decimal(raw)
            if d is None or d < 0 or d > 1:
                errors.append(
                    _("Dòng %(row)d, cột %(code)s: giá trị “%(v)s” phải là số từ 0 đến 1.")
                    % {"row": number, "code": code, "v": "" if raw is None else raw}
                )
            else:
                values[code] = d
        published_dti = published_rank = None
        if "dti" in col and cells[col["dti"]] not in (None, ""):
            published_dti = _cell_decimal(cells[col["dti"]])
            if published_dti is None:
                errors.append(_("Dòng %(row)d: cột dti không phải là số.") % {"row": number})
        if "rank" in col and cells[col["rank"]] not in (None, ""):
            r = _cell_decimal(cells[col["rank"]])
            if r is None or r != r.to_integral_value() or r < 1:
                errors.append(
                    _("Dòng %(row)d: cột rank phải là số nguyên dương.") % {"row": number}
                )
            else:
                published_rank = int(r)
        parsed.append((province, values, published_dti, published_rank))
    if not parsed and not errors:
        errors.append(_("Tệp không có dòng dữ liệu nào."))
    # The published figures replace the recomputed ones on every page (official_dti/_rank):
    # only a complete pair of columns makes one ranking; a published rank beside recomputed
    # ones would give two provinces the same place.
    filled = {
        "dti": sum(1 for *_rest, d, _r in parsed if d is not None),
        "rank": sum(1 for *_rest, r in parsed if r is not None),
    }
    if (
        parsed
        and not errors
        and set(filled.values()) != {0}
        and set(filled.values()) != {len(parsed)}
    ):
        errors.append(
            _(
                "Cột dti và rank (kết quả công bố) phải ghi đủ cho mọi tỉnh, thành phố, hoặc bỏ "
                "trống cả hai cột: đang có %(dti)s/%(n)s dòng ghi dti, %(rank)s/%(n)s dòng ghi "
                "rank."
            )
            % {"dti": filled["dti"], "rank": filled["rank"], "n": len(parsed)}
        )
    if errors:
        raise ValidationFailed(" ".join(errors[:20]), errors={"file": errors})
    dtis = [engine.weighted_dti(v, scored, total) for _p, v, _d, _r in parsed]
    ranks = engine.competition_ranks(dtis)
    return [
        NationalRow(p, v, d, r, pd_, pr)
        for (p, v, pd_, pr), d, r in zip(parsed, dtis, ranks, strict=True)
    ]


@transaction.atomic
def national_results_import(
    *,
    data: bytes,
    file_name: str,
    framework_code: str,
    year: int,
    actor: Any = None,
    request_id: str = "",
) -> list[NationalRow]:
    """Imports (replaces) the national results of ``year`` from a file's bytes (``file_name``
    says .csv or .xlsx): all rows or nothing. ``actor`` None is the command line; otherwise
    only the Sở imports. The audit entry keeps the DTIs of the rows replaced."""
    if actor is not None and not actor.has_perm("scoring.import_national_results"):
        raise NotAllowed(_("Chỉ Sở KH&CN được nhập kết quả công bố toàn quốc."))
    try:
        framework = Framework.objects.get(code=framework_code)
    except Framework.DoesNotExist as exc:
        raise NotFound(_("Không có bộ chỉ số mã “%(code)s”.") % {"code": framework_code}) from exc
    rows = parse_national_table(data, file_name, framework)
    previous = NationalResult.objects.select_for_update().filter(framework=framework, year=year)
    replaced = {r.province: format(r.dti, "f") for r in previous}
    previous.delete()
    NationalResult.objects.bulk_create(
        [
            NationalResult(
                framework=framework,
                year=year,
                province=r.province,
                main_values={k: format(v, "f") for k, v in r.values.items()},
                dti=_q(r.dti),
                rank=r.rank,
                published_dti=r.published_dti,
                published_rank=r.published_rank,
            )
            for r in rows
        ]
    )
    audit(
        actor=actor,
        action="national_results.import",
        obj=framework,
        data={"file": Path(file_name).name, "rows": len(rows), "year": year, "replaced": replaced},
        request_id=request_id,
    )
    return rows
