"""Acceptance 3: each kind of bad file is refused with a clear Vietnamese message, and the
database is unchanged."""

from __future__ import annotations

import io
import time
import zipfile
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from agencies.models import Agency, AgencyAlias, AuditEvent
from indicators.models import Framework, Indicator, Measure
from indicators.services import ImportFailed, framework_import
from tests.evidence.hostile_files import zip_of_future_version
from tests.indicators.builders import simple_rows, xlsx


def _state():
    return tuple(
        m.objects.count() for m in (Framework, Indicator, Measure, Agency, AgencyAlias, AuditEvent)
    )


def _rezip(
    data: bytes, *, add: dict[str, bytes] | None = None, replace: dict[str, bytes] | None = None
) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, (replace or {}).get(info.filename, src.read(info.filename)))
        for name, content in (add or {}).items():
            z.writestr(name, content)
    return out.getvalue()


def _refused(data: bytes) -> list[str]:
    before = _state()
    with pytest.raises(ImportFailed) as exc:
        framework_import(actor=None, data=data, code="bad", year=2025)
    assert _state() == before
    errors = exc.value.report.errors
    assert errors
    return errors


GOOD = None


@pytest.fixture
def good():
    return xlsx(simple_rows())


def test_not_an_xlsx(khanh_hoa):
    errors = _refused(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n")
    assert "không phải bảng tính Excel .xlsx" in errors[0]
    errors = _refused("STT,Chỉ số,Điểm\n1,Nhận thức số,50\n".encode())
    assert "không phải bảng tính Excel .xlsx" in errors[0]


def test_a_docx_renamed_is_refused(khanh_hoa):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        z.writestr("word/document.xml", "<w:document/>")
    errors = _refused(out.getvalue())
    assert "không phải bảng tính Excel" in errors[0]


def test_xlsm_macro_workbook_is_refused(khanh_hoa, good):
    src = zipfile.ZipFile(io.BytesIO(good))
    ct = src.read("[Content_Types].xml").replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    data = _rezip(
        good, add={"xl/vbaProject.bin": b"\x00" * 64}, replace={"[Content_Types].xml": ct}
    )
    errors = _refused(data)
    assert "macro" in errors[0] and ".xlsm" in errors[0]


def test_corrupt_zip(khanh_hoa, good):
    errors = _refused(good[: len(good) // 2])
    assert "bị hỏng" in errors[0]


def test_zip_bomb_is_refused_before_parsing(khanh_hoa, good):
    bomb = _rezip(good, add={"xl/worksheets/sheet9.xml": b" " * (51 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024  # small on disk, huge when inflated
    started = time.monotonic()
    errors = _refused(bomb)
    assert "zip bomb" in errors[0]
    assert time.monotonic() - started < 5


def test_xml_entity_attack_is_refused(khanh_hoa, good):
    src = zipfile.ZipFile(io.BytesIO(good))
    part = "xl/worksheets/sheet1.xml"
    sheet = src.read(part).decode()
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    )
    body = sheet.split("?>", 1)[1] if sheet.startswith("<?xml") else sheet
    assert "Nhận thức số" in body
    evil = laughs + body.replace("Nhận thức số", "&lol3;")
    data = _rezip(good, replace={part: evil.encode()})
    errors = _refused(data)
    assert "Không đọc được tệp Excel" in errors[0]


def test_no_recognisable_header(khanh_hoa):
    data = xlsx([["a", "b", "c"], ["1", "2", "3"]], header=["Cột A", "Cột B", "Cột C"])
    errors = _refused(data)
    assert "Không tìm thấy dòng tiêu đề" in errors[0]


def test_points_that_do_not_add_up(khanh_hoa):
    rows = simple_rows()
    rows[2][2] = 25  # 1.1 = 30, 1.2 = 25 → 55 ≠ 60
    errors = _refused(xlsx(rows))
    assert errors == ["Dòng 5: tổng điểm các chỉ số con của 1 là 55, khác điểm tối đa 60."]


def test_duplicate_codes(khanh_hoa):
    rows = simple_rows() + [["2.1", "Trùng mã", 0, "Sở KH&CN", "-"]]
    errors = _refused(xlsx(rows))
    assert "Dòng 10: mã 2.1 bị trùng với dòng 9." in errors


def test_sub_indicator_without_parent(khanh_hoa):
    rows = simple_rows() + [["3.1", "Mồ côi", 0, "Sở KH&CN", "-"]]
    errors = _refused(xlsx(rows))
    assert errors == ["Dòng 10: chỉ số thành phần 3.1 không có cấp trên 3 trong bảng."]


def test_points_not_a_number_and_bad_code(khanh_hoa):
    rows = simple_rows()
    rows[1][2] = "ba mươi"
    rows[3][0] = "2a"
    errors = _refused(xlsx(rows))
    assert any(e.startswith("Dòng 6: điểm tối đa “ba mươi”") for e in errors)
    assert any(e.startswith("Dòng 8: mã “2a” không hợp lệ") for e in errors)


@pytest.mark.parametrize("text", ["1/2", "7/10", "abc", "3 0", "1e3", "30đ50", "NaN"])
def test_points_text_that_is_not_a_number_is_refused_by_row(khanh_hoa, text):
    """Strict points: "1/2" is not read as 12, nor "7/10" as 710 (all-or-nothing import)."""
    rows = simple_rows()
    rows[2][2] = text  # 1.2, on row 7
    errors = _refused(xlsx(rows))
    assert errors == [
        f"Dòng 7: điểm tối đa “{text}” của 1.2 không phải là số hợp lệ (tối đa 2 chữ số thập phân)."
    ]


@pytest.mark.parametrize(
    ("text", "points"),
    [
        ("10", "10"),
        (" 15 ", "15"),
        ("2,5", "2.5"),
        ("2.5", "2.5"),
        ("1.000", "1000"),
        ("1.000,5", "1000.5"),
        ("1,000.5", "1000.5"),
        ("15 điểm", "15"),
        ("15 Điểm", "15"),
        ("20 đ", "20"),
        ("-5", "-5"),
        (7, "7"),
        (7.5, "7.5"),
    ],
)
def test_points_accepted_forms(text, points):
    from indicators.importer import parse_points

    assert parse_points(text) == Decimal(points)


@pytest.mark.parametrize("text", ["1/2", "7/10", "abc", "1e3", "inf", "2,5,5", "1.2.3", "½", "٣"])
def test_points_refused_forms(text):
    from indicators.importer import parse_points

    with pytest.raises(ValueError):
        parse_points(text)


def test_too_many_decimals(khanh_hoa):
    rows = simple_rows()
    rows[1][2] = 30.125
    errors = _refused(xlsx(rows))
    assert any("Dòng 6" in e for e in errors)


def test_code_already_used(khanh_hoa, good):
    framework_import(actor=None, data=good, code="bad", year=2025)
    errors = _refused(good)
    assert "đã được dùng" in errors[0]


def test_command_exits_non_zero_with_row_numbers(khanh_hoa, tmp_path):
    rows = simple_rows()
    rows[2][2] = 25
    path = tmp_path / "bad.xlsx"
    path.write_bytes(xlsx(rows))
    before = _state()
    err = StringIO()
    with pytest.raises(CommandError, match="cơ sở dữ liệu không thay đổi"):
        call_command(
            "import_framework",
            str(path),
            "--code",
            "x",
            "--year",
            "2025",
            stderr=err,
            stdout=StringIO(),
        )
    assert "Dòng 5: tổng điểm các chỉ số con của 1" in err.getvalue()
    assert _state() == before


def test_large_file_within_budget(khanh_hoa):
    """A 3,000-row framework parses within a time budget (the row cap is 5,000)."""
    rows = []
    for m in range(1, 31):
        rows.append([str(m), f"Chỉ số chính {m}", 100, None, None])
        rows += [
            [f"{m}.{s}", f"Ban hành văn bản {m}.{s}", 1, "Sở KH&CN", "Các sở, ban, ngành"]
            for s in range(1, 101)
        ]
    data = xlsx(rows)
    started = time.monotonic()
    report = framework_import(actor=None, data=data, code="big", year=2025, dry_run=True)
    assert report.sub_count == 3000
    assert time.monotonic() - started < 60
    assert not Framework.objects.filter(code="big").exists()


def test_too_many_rows_refused(khanh_hoa):
    rows = [["1", "A", 0, None, None]] + [[f"1.{i}", "x", 0, None, None] for i in range(1, 5100)]
    errors = _refused(xlsx(rows))
    assert "quá lớn" in errors[0]


def test_entity_attack_is_stopped_by_defusedxml(good):
    """The refusal above comes from defusedxml (openpyxl uses it when installed)."""
    import openpyxl
    from defusedxml import DefusedXmlException
    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML is True
    src = zipfile.ZipFile(io.BytesIO(good))
    part = "xl/worksheets/sheet1.xml"
    evil = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + src.read(
        part
    ).decode().replace("Nhận thức số", "&a;")
    with pytest.raises(ValueError) as exc:
        openpyxl.load_workbook(io.BytesIO(_rezip(good, replace={part: evil.encode()})))
    assert isinstance(exc.value.__context__, DefusedXmlException)


def test_parse_memory_budget():
    """Parsing a 3,000-row appendix stays well under 200 MB of Python allocations."""
    import tracemalloc

    from agencies.spreadsheets import load_xlsx
    from indicators.importer import parse_workbook

    rows = []
    for m in range(1, 31):
        rows.append([str(m), f"Chỉ số chính {m}", 100, None, None])
        rows += [
            [f"{m}.{s}", f"Ban hành văn bản {m}.{s}", 1, "Sở KH&CN", "-"] for s in range(1, 101)
        ]
    data = xlsx(rows)
    tracemalloc.start()
    try:
        parsed = parse_workbook(load_xlsx(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(parsed.nodes) == 3030
    assert peak < 200 * 1024 * 1024


def test_encrypted_or_legacy_workbook(khanh_hoa):
    ole = bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 2048
    errors = _refused(ole)
    assert "đặt mật khẩu" in errors[0] and ".xls" in errors[0]


def test_high_compression_ratio_refused(khanh_hoa, good):
    bomb = _rezip(good, add={"xl/worksheets/sheet9.xml": b"A" * (5 * 1024 * 1024)})
    errors = _refused(bomb)
    assert "zip bomb" in errors[0]


def test_a_title_too_long_for_the_name_is_refused_with_a_clear_error(khanh_hoa):
    """Found by the importer fuzz on PostgreSQL: a title cell of any length became the name
    (255 characters) and failed at the insert. Now a field error before anything is written."""
    errors = _refused(xlsx(simple_rows(), title=("PHỤ LỤC", "BỘ CHỈ SỐ " + "X" * 300)))
    assert any("Tên bộ chỉ số dài" in e and "255" in e for e in errors), errors


def test_created_agencies_do_not_rename_the_framework(khanh_hoa):
    """The framework is named from the file's title, not after the last agency created."""
    report = framework_import(
        actor=None,
        data=xlsx(simple_rows(lead="Ban Quản lý dự án mới")),
        code="named",
        year=2025,
        create_unknown_agencies=True,
    )
    assert report.created_agencies == ["Ban Quản lý dự án mới"]
    assert "Ban Quản lý" not in Framework.objects.get(code="named").name


def test_zip_of_an_unknown_version_is_refused(khanh_hoa, good):
    bad = zip_of_future_version(good)
    assert bad != good
    errors = _refused(bad)
    assert "bị hỏng" in errors[0]


@pytest.mark.parametrize(
    ("code", "year", "message"),
    [
        ("dti 2025", "2025", "Mã bộ chỉ số “dti 2025” không hợp lệ"),
        ("x" * 51, "2025", "không hợp lệ"),
        ("dti-2025", "-1", "Năm -1 không hợp lệ"),
        ("dti-2025", "99999", "Năm 99999 không hợp lệ"),
    ],
)
def test_command_refuses_a_code_or_year_the_upload_form_refuses(
    khanh_hoa, tmp_path, good, code, year, message
):
    """The command takes them as typed: a code that is no slug, or a year the database refuses
    (a traceback) or the upload form refuses, is a clear error and nothing is written."""
    path = tmp_path / "ok.xlsx"
    path.write_bytes(good)
    before = _state()
    err = StringIO()
    with pytest.raises(CommandError, match="cơ sở dữ liệu không thay đổi"):
        call_command(
            "import_framework",
            str(path),
            "--code",
            code,
            "--year",
            year,
            stderr=err,
            stdout=StringIO(),
        )
    assert message in err.getvalue()
    assert _state() == before


def test_a_code_longer_than_the_database_column_is_refused_by_row(khanh_hoa):
    rows = [*simple_rows(), ["1234567890123456789012", "Chỉ số theo dõi", 0, None, None]]
    errors = _refused(xlsx(rows))
    assert any(
        e.startswith("Dòng 10: mã “1234567890123456789012” dài quá 20 ký tự") for e in errors
    )


def test_points_too_large_for_the_database_are_refused_by_row(khanh_hoa):
    rows = [
        ["1", "Nhận thức số", "10.000.000", None, None],
        ["1.1", "Ban hành kế hoạch", "10.000.000", "Sở KH&CN", "-"],
    ]
    errors = _refused(xlsx(rows))
    assert any(e.startswith("Dòng 5: điểm tối đa của 1 quá lớn") for e in errors), errors
    assert any("9.999.999,99" in e for e in errors)


def test_template_measures_that_do_not_fit_their_columns_are_refused_by_row(khanh_hoa):
    import json

    import openpyxl

    from indicators.importer import export_framework_xlsx

    framework_import(actor=None, data=xlsx(simple_rows()), code="src", year=2025)
    wb = openpyxl.load_workbook(
        io.BytesIO(export_framework_xlsx(Framework.objects.get(code="src")))
    )
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    col = header.index("Số liệu báo cáo (JSON)") + 1
    target = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "1.1")
    ws.cell(target, col).value = json.dumps(
        [
            {"code": "mã có dấu cách", "label": "Số", "kind": "number"},
            {"code": "m2", "label": "L" * 300, "kind": "number"},
            {"code": "m3", "label": "Số", "kind": "number", "unit": "u" * 60},
        ],
        ensure_ascii=False,
    )
    buf = io.BytesIO()
    wb.save(buf)
    errors = _refused(buf.getvalue())
    text = "\n".join(errors)
    assert f"Dòng {target}: số liệu thứ 1 có mã “mã có dấu cách” không hợp lệ" in text
    assert f"Dòng {target}: số liệu thứ 2 có nhãn dài quá 255 ký tự" in text
    assert f"Dòng {target}: số liệu thứ 3 có đơn vị dài quá 50 ký tự" in text


def test_an_agency_name_too_long_to_create_or_alias_is_refused_by_row(khanh_hoa):
    long_name = "Sở " + "X" * 300
    rows = simple_rows()
    rows[1][3] = long_name
    data = xlsx(rows)
    before = _state()
    with pytest.raises(ImportFailed) as exc:
        framework_import(actor=None, data=data, code="bad", year=2025, create_unknown_agencies=True)
    assert _state() == before
    assert any(
        e.startswith("Dòng 6: tên cơ quan “Sở XXX") and "dài quá 255 ký tự" in e
        for e in exc.value.report.errors
    ), exc.value.report.errors
    # Mapped to an existing agency, the name would become its alias: refused the same way.
    with pytest.raises(ImportFailed) as exc:
        framework_import(
            actor=None,
            data=data,
            code="bad",
            year=2025,
            agency_mapping={long_name: str(khanh_hoa["so-khcn"].pk)},
        )
    assert _state() == before
    assert any("dài quá 255 ký tự" in e for e in exc.value.report.errors)
