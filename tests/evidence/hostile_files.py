"""Builders of the deeper hostile samples (and their legitimate look-alikes): macros in ODF
script folders, programs or web pages packed in OOXML, relationships fetching from elsewhere,
images with garbage pixel data, and workbooks holding a shared strings bomb."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib

from evidence.services.content_checks import ADAM7
from tests.evidence.reporting_factories import docx_bytes

RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
REL_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def odf_with(entries: dict[str, str], manifest_paths: tuple[str, ...] = ()) -> bytes:
    """An OpenDocument text with extra ``entries`` and manifest file entries."""
    manifest = "".join(
        f'<manifest:file-entry manifest:full-path="{p}" manifest:media-type="text/xml"/>'
        for p in manifest_paths
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.text",
            compress_type=zipfile.ZIP_STORED,
        )
        zf.writestr("content.xml", "<office:document-content/>", zipfile.ZIP_DEFLATED)
        zf.writestr(
            "META-INF/manifest.xml",
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:'
            f'manifest:1.0">{manifest}</manifest:manifest>',
        )
        for name, data in entries.items():
            zf.writestr(name, data, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def odt_basic_macro() -> bytes:
    """A StarBasic module run by LibreOffice (the reviewer's sample)."""
    module = (
        '<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" '
        'script:language="StarBasic">Sub Main\n Shell("calc")\nEnd Sub</script:module>'
    )
    return odf_with(
        {"Basic/Standard/Module1.xml": module}, manifest_paths=("Basic/Standard/Module1.xml",)
    )


def odt_python_script() -> bytes:
    return odf_with({"Scripts/python/run.py": "import os\nos.system('calc')\n"})


def odt_manifest_script_only() -> bytes:
    """The manifest declares a Basic library (the entries themselves named otherwise)."""
    return odf_with({}, manifest_paths=("Basic/", "Basic/Standard/script.xml"))


def odt_like_libreoffice() -> bytes:
    """What LibreOffice writes for a plain document: pictures, thumbnails, settings."""
    return odf_with(
        {
            "styles.xml": "<office:document-styles/>",
            "settings.xml": "<office:document-settings/>",
            "Thumbnails/thumbnail.png": "png",
            "Pictures/10000001.png": "png",
            "Configurations2/accelerator/current.xml": "",
        },
        manifest_paths=("Pictures/10000001.png", "Configurations2/", "Thumbnails/thumbnail.png"),
    )


def rels(*relationships: tuple[str, str, str]) -> str:
    """A .rels part; each relationship: (type, target, target mode or "")."""
    body = "".join(
        f'<Relationship Id="rId{i}" Type="{REL_TYPE}{kind}" Target="{target}"'
        + (f' TargetMode="{mode}"' if mode else "")
        + "/>"
        for i, (kind, target, mode) in enumerate(relationships, start=1)
    )
    return f'<Relationships xmlns="{RELS_NS}">{body}</Relationships>'


def docx_with_rels(part: str, *relationships: tuple[str, str, str]) -> bytes:
    return docx_bytes(extra={part: rels(*relationships)})


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_raw(width: int, height: int, scanlines: bytes, *, interlace: int = 0) -> bytes:
    """An 8-bit RGB PNG around ``scanlines`` (valid chunks and CRCs, whatever the data)."""
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, interlace))
        + png_chunk(b"IDAT", zlib.compress(scanlines))
        + png_chunk(b"IEND", b"")
    )


def png_garbage_pixels() -> bytes:
    """59.99 megapixels (just under the limit) announced, 10 bytes of pixel data."""
    return png_raw(7745, 7745, b"\x00" * 10)


def png_interlaced(width: int = 13, height: int = 7) -> bytes:
    """A valid Adam7-interlaced PNG (Pillow cannot write one): 7 passes of black scanlines."""
    size = 0
    for x0, y0, dx, dy in ADAM7:
        w, h = -(-(width - x0) // dx), -(-(height - y0) // dy)
        size += h * (1 + 3 * w) if w > 0 and h > 0 else 0
    return png_raw(width, height, b"\x00" * size, interlace=1)


def jpeg_truncated() -> bytes:
    import os

    from PIL import Image

    buf = io.BytesIO()
    Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3)).save(buf, "JPEG")
    data = buf.getvalue()
    return data[: len(data) // 2]


# --- workbooks -------------------------------------------------------------------------------


def shared_strings(n_bytes: int, *, seed: int = 1) -> bytes:
    """About ``n_bytes`` of a shared strings table: short random "ab" strings, as in the
    reviewer's bomb (compression ratio ~16, under the evidence limit of 100)."""
    raw = random.Random(seed).randbytes(n_bytes * 6 // 22)
    raw = raw.translate(bytes(b"ab"[i & 1] for i in range(256)))
    body = b"</t></si><si><t>".join(raw[i : i + 6] for i in range(0, len(raw), 6))
    return (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>'
        + body
        + b"</t></si></sst>"
    )


def with_shared_strings(
    xlsx: bytes, table: bytes, *, part: str = "xl/sharedStrings.xml", level: int = 6
) -> bytes:
    """``xlsx`` carrying ``table`` as its shared strings ``part`` (declared in
    [Content_Types].xml and the workbook's relationships, as Excel writes it)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    f'<Override PartName="/{part}" ContentType="{SST_TYPE}"/></Types>'.encode(),
                )
            elif info.filename == "xl/_rels/workbook.xml.rels":
                target = part.removeprefix("xl/")
                data = data.replace(
                    b"</Relationships>",
                    f'<Relationship Id="rIdSst" Type="{REL_TYPE}sharedStrings" '
                    f'Target="{target}"/></Relationships>'.encode(),
                )
            elif info.filename == part:
                continue
            zf.writestr(info.filename, data)
        zf.writestr(part, table)
    return out.getvalue()


def zip_of_future_version(data: bytes) -> bytes:
    """The same zip with every central-directory entry claiming it needs version 10.0 to
    extract: ``zipfile`` raises NotImplementedError while reading the directory."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at != -1:
        out[at + 6 : at + 8] = (100).to_bytes(2, "little")  # "version needed to extract"
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)
