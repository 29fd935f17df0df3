"""Builders for the reporting tests: a framework with a ratio sub-indicator led by one agency
and coordinated by agencies A and B (A directly, B through a group), and hostile files."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from decimal import Decimal

from agencies.models import Agency, User
from evidence.models import ReportingPeriod
from indicators.models import Framework, Indicator, Measure
from tests.factories import (
    AgencyFactory,
    AgencyGroupFactory,
    FrameworkFactory,
    IndicatorFactory,
    MeasureFactory,
    UserFactory,
)

RATIO_RULE = {"type": "ratio", "numerator": "numerator", "denominator": "denominator"}


@dataclass
class World:
    framework: Framework
    ratio: Indicator
    yes_no: Indicator
    lead: Agency
    lead_user: User
    period: ReportingPeriod


def make_ratio_indicator(framework: Framework, code: str, lead: Agency, **kw) -> Indicator:
    main = Indicator.objects.filter(framework=framework, level=Indicator.Level.MAIN).first()
    if main is None:
        main = IndicatorFactory(
            framework=framework, level=Indicator.Level.MAIN, code="1", max_points=Decimal("50")
        )
    ind = IndicatorFactory(
        framework=framework,
        parent=main,
        code=code,
        name=kw.pop("name", f"Tỷ lệ cán bộ chuyên trách {code}"),
        max_points=kw.pop("max_points", Decimal("10")),
        scoring_rule=RATIO_RULE,
        lead_agency=lead,
        **kw,
    )
    MeasureFactory(
        indicator=ind,
        code="numerator",
        label="Số CCVC chuyên trách",
        kind=Measure.Kind.NUMERATOR,
        position=1,
    )
    MeasureFactory(
        indicator=ind,
        code="denominator",
        label="Tổng số CCVC",
        kind=Measure.Kind.DENOMINATOR,
        position=2,
    )
    return ind


def make_world(agency_a: Agency, agency_b: Agency, *, quarter: int = 4, deadline=None) -> World:
    import datetime

    framework = FrameworkFactory(code="dti-test", year=2025)
    lead = AgencyFactory(code="so-lead", name="Sở Chủ trì", short_name="Sở CT")
    lead_user = UserFactory(username="staff_lead", agency=lead, role=User.Role.AGENCY_STAFF)
    ratio = make_ratio_indicator(framework, "1.1", lead)
    ratio.coordinating_agencies.add(agency_a)
    group = AgencyGroupFactory(name="Nhóm thử", kinds=[])
    group.members.add(agency_b)
    ratio.coordinating_groups.add(group)
    yes_no = IndicatorFactory(
        framework=framework,
        parent=ratio.parent,
        code="1.2",
        name="Ban hành kế hoạch chuyển đổi số",
        max_points=Decimal("5"),
        scoring_rule={"type": "yes_no", "measure": "done"},
        lead_agency=agency_a,
    )
    MeasureFactory(indicator=yes_no, code="done", label="Đã ban hành", kind=Measure.Kind.BOOLEAN)
    period = ReportingPeriod.objects.create(
        framework=framework,
        year=2025,
        quarter=quarter,
        deadline=deadline or (datetime.date.today() + datetime.timedelta(days=30)),
    )
    return World(framework, ratio, yes_no, lead, lead_user, period)


# --- files ---------------------------------------------------------------------------------


def pdf_bytes(text: str = "Bien ban") -> bytes:
    """A small valid PDF (one page), the same builder as the demo data's."""
    from evidence.demo import demo_pdf

    return demo_pdf([text])


def png_bytes(width: int = 4, height: int = 4) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buf, "PNG")
    return buf.getvalue()


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active["A1"] = "Số liệu"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def docx_bytes(extra: dict[str, bytes] | None = None, content_types: str | None = None) -> bytes:
    """A minimal OOXML word document (enough for libmagic and the zip checks)."""
    ct = content_types or (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", ct)
        zf.writestr("_rels/.rels", "<Relationships/>")
        zf.writestr("word/document.xml", "<w:document/>")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def exe_bytes() -> bytes:
    """The start of a Windows PE executable (MZ header, PE signature)."""
    head = bytearray(b"MZ" + b"\x90\x00" * 29 + b"\x00" * 2)
    head += b"\x00" * (0x3C - len(head))
    head += (0x80).to_bytes(4, "little")
    head += b"\x00" * (0x80 - len(head))
    head += b"PE\x00\x00" + b"\x4c\x01" + b"\x00" * 200
    return bytes(head) + b"This program cannot be run in DOS mode.\r\n" * 10


def html_bytes() -> bytes:
    return b"<!DOCTYPE html><html><head><title>x</title></head><body><script>alert(1)</script></body></html>"


def svg_bytes() -> bytes:
    return b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'


def xlsm_bytes() -> bytes:
    """An xlsx-looking workbook with a VBA project and the macro-enabled content type."""
    ct = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="'
        'application/vnd.ms-excel.sheet.macroEnabled.main+xml"/></Types>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", ct)
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    return buf.getvalue()


def zip_bomb_docx() -> bytes:
    """A .docx whose one entry inflates 200 MB of zeros from ~200 KB (ratio ~1000)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("word/document.xml", "w", force_zip64=True) as f:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(200):
                f.write(chunk)
    return buf.getvalue()


def encrypted_office_bytes() -> bytes:
    """An OLE2 (CFB) container carrying an ``EncryptedPackage`` stream name, like a
    password-protected .docx/.xlsx."""
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
    )
    header += b"\x00" * (512 - len(header))
    entry = "EncryptedPackage".encode("utf-16-le")
    return header + b"\x00" * 512 + entry + b"\x00" * (128 - len(entry)) + b"\x00" * 1024


def odf_bytes(kind: str = "text") -> bytes:
    """A minimal OpenDocument file (mimetype stored first, uncompressed, as ODF requires)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            zipfile.ZipInfo("mimetype"),
            f"application/vnd.oasis.opendocument.{kind}",
            compress_type=zipfile.ZIP_STORED,
        )
        zf.writestr("content.xml", "<office:document-content/>", compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", "<manifest:manifest/>")
    return buf.getvalue()


def jpg_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buf, "JPEG")
    return buf.getvalue()
