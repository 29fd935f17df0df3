"""Deep content checks of uploads, shared by evidence files and the agency workbook.

- Zip budgets (:class:`ZipBudget`) read from the central directory only, so an oversized or
  over-compressed container is refused before any byte is inflated.
- Zip contents (:func:`scan_zip_content`), once the budget holds: LibreOffice Basic/script
  macros, programs or web pages packed inside (by name or by their first bytes), and OOXML
  relationships that make Office fetch something from another machine when the file is opened
  (a remote template, a linked OLE object or frame); hyperlinks and local paths stay allowed.
- Images (:func:`check_image`): the pixel limit from the header, Pillow's structural
  ``verify()``, then the pixel data itself: a JPEG is decoded at 1/8 scale, a PNG's compressed
  scanlines are inflated chunk by chunk and counted, so a huge image never sits in memory.
"""

from __future__ import annotations

import math
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from dti_portal.errors import ValidationFailed

CHUNK = 64 * 1024
MAX_IMAGE_PIXELS = 60_000_000
MAX_SMALL_PART = 1024 * 1024  # [Content_Types].xml, META-INF/manifest.xml: a few kB when real
MAX_RELS_PART = 5 * 1024 * 1024  # a .rels part: ~200 bytes per hyperlink
SCRIPT_DIRS = ("basic", "scripts")  # ODF: StarBasic libraries, BeanShell/JS/Python scripts
PACKED_PROGRAM_EXTENSIONS = (
    ".exe",
    ".dll",
    ".com",
    ".scr",
    ".pif",
    ".cpl",
    ".msi",
    ".bat",
    ".cmd",
    ".ps1",
    ".vbs",
    ".vbe",
    ".js",
    ".jse",
    ".wsf",
    ".wsh",
    ".hta",
    ".jar",
    ".lnk",
    ".sh",
    ".html",
    ".htm",
    ".xhtml",
    ".mht",
    ".mhtml",
)
PROGRAM_SIGNATURES = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"#!")
EXTERNAL_TYPES_ALLOWED = ("/hyperlink",)  # a link the reader clicks, not a fetch on opening
# zip-level password, unknown compression method, corrupt data
UNREADABLE = (RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error, OSError, EOFError)
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type → samples per pixel
ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def refused(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, errors={"file": [message]}, code=code)


def size_number(n: float) -> str:
    """A size for a message: rounded *up* to one decimal, so a file just over a limit never
    reads as the limit itself (30.04 → "30,1", not "30"); the decimal only when there is one;
    in the reader's number format (10.240,5 / 10,240.5)."""
    tenths = math.ceil(round(n * 10, 6))  # round() first: 30.0 * 10 must not become 301
    places = 0 if tenths % 10 == 0 else 1
    return number_format(
        Decimal(tenths) / 10, decimal_pos=places, use_l10n=True, force_grouping=True
    )


def count_number(n: int) -> str:
    """A whole number for a message, thousands grouped in the reader's format (1.500 / 1,500)."""
    return number_format(n, use_l10n=True, force_grouping=True)


def fmt_size(n: int) -> str:
    """``12 MB`` / ``340 KB``: readable in a message whatever the limit."""
    if n >= 1024 * 1024:
        return f"{size_number(n / (1024 * 1024))} MB"
    return f"{size_number(max(n, 1) / 1024)} KB"


def broken_zip() -> ValidationFailed:
    return refused(_("Tệp nén bị hỏng hoặc không đọc được."), "bad_zip")


# --- zip budgets -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ZipBudget:
    max_entries: int
    max_total: int  # uncompressed bytes, all entries
    max_entry: int  # uncompressed bytes, any entry
    max_ratio: int  # uncompressed / compressed, for entries above ``ratio_floor``
    ratio_floor: int = 1024 * 1024  # small parts compress a lot legitimately
    parts: dict[str, int] = field(default_factory=dict)  # lower-cased name → tighter limit


def budget_excess(infos: list[zipfile.ZipInfo], budget: ZipBudget) -> str | None:
    """The first limit of ``budget`` the central directory exceeds, described for the user,
    or None. Reads declared sizes only: nothing is inflated."""
    if len(infos) > budget.max_entries:
        return _("%(n)s mục trong tệp nén, tối đa %(max)s") % {
            "n": count_number(len(infos)),
            "max": count_number(budget.max_entries),
        }
    total = sum(i.file_size for i in infos)
    if total > budget.max_total:
        return _("giải nén ra %(size)s, tối đa %(max)s") % {
            "size": fmt_size(total),
            "max": fmt_size(budget.max_total),
        }
    for info in infos:
        limit = min(budget.max_entry, budget.parts.get(info.filename.lower(), budget.max_entry))
        if info.file_size > limit:
            return _("phần “%(part)s” giải nén ra %(size)s, tối đa %(max)s") % {
                "part": info.filename[:100],
                "size": fmt_size(info.file_size),
                "max": fmt_size(limit),
            }
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > budget.ratio_floor and ratio > budget.max_ratio:
            return _("phần “%(part)s” nén %(ratio)s lần, tối đa %(max)s lần") % {
                "part": info.filename[:100],
                "ratio": count_number(round(ratio)),
                "max": count_number(budget.max_ratio),
            }
    return None


# --- zip contents ----------------------------------------------------------------------------


def read_small_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A part read whole, refused when larger than ``limit`` (declared or actual)."""
    if info.file_size > limit:
        raise refused(
            _("Tệp bị từ chối: phần “%(part)s” lớn bất thường (%(size)s).")
            % {"part": info.filename[:100], "size": fmt_size(info.file_size)},
            "zip_bomb",
        )
    try:
        with zf.open(info) as f:
            return f.read(limit + 1)[:limit]
    except UNREADABLE as exc:
        raise broken_zip() from exc


def _script_macro(names: list[str]) -> bool:
    return any(segment in SCRIPT_DIRS for name in names for segment in name.lower().split("/")[:-1])


def scan_zip_content(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    """Refuses macros in ODF script folders, programs or web pages packed inside, and OOXML
    relationships that fetch from elsewhere on opening. Call after the budget check."""
    macro = _(
        "Tệp chứa macro (Basic hoặc script) bị từ chối. Hãy lưu lại thành tệp thường không có "
        "macro rồi tải lên."
    )
    if _script_macro([i.filename for i in infos]):
        raise refused(macro, "macro")
    manifest = next((i for i in infos if i.filename.lower() == "meta-inf/manifest.xml"), None)
    if manifest is not None:
        text = read_small_part(zf, manifest, MAX_SMALL_PART).decode("utf-8", "replace").lower()
        paths = [p.split('"', 1)[0] for p in text.split('full-path="')[1:]]
        if _script_macro(paths):
            raise refused(macro, "macro")
    for info in infos:
        if info.is_dir():
            continue
        name = info.filename.lower()
        try:
            with zf.open(info) as f:
                head = f.read(4)  # inflates one small block, whatever the entry's size
        except UNREADABLE as exc:
            raise broken_zip() from exc
        if name.endswith(PACKED_PROGRAM_EXTENSIONS) or head.startswith(PROGRAM_SIGNATURES):
            raise refused(
                _(
                    "Tệp bị từ chối: bên trong có chương trình hoặc trang web đóng gói kèm "
                    "(“%(part)s”)."
                )
                % {"part": info.filename[:100]},
                "packed_program",
            )
        if name.endswith(".rels"):
            _check_relationships(read_small_part(zf, info, MAX_RELS_PART), info.filename)


def is_remote(target: str) -> bool:
    """Whether Office would reach another machine for ``target``: True for a URL of any
    scheme but ``file:``, for a ``file://host/…`` URL and for a UNC path (``\\\\host\\share``);
    False for a relative or local path."""
    t = target.strip().replace("\\", "/")
    scheme, sep, rest = t.partition(":")
    if not sep or len(scheme) == 1 or "/" in scheme:  # relative path, drive letter
        return t.startswith("//")
    if scheme.lower() != "file":
        return True
    slashes = len(rest) - len(rest.lstrip("/"))
    host = rest.lstrip("/").split("/", 1)[0].lower()
    return slashes >= 4 or (slashes == 2 and host not in {"", "localhost"})


def _check_relationships(data: bytes, part: str) -> None:
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise broken_zip() from exc
    for rel in root.iter():
        if not str(rel.tag).endswith("Relationship"):
            continue
        if (rel.get("TargetMode") or "").lower() != "external":
            continue
        if (rel.get("Type") or "").endswith(EXTERNAL_TYPES_ALLOWED):
            continue
        if not is_remote(rel.get("Target") or ""):
            continue  # Word records a local template path ("file:///C:/…/Mẫu.dotx") often
        raise refused(
            _(
                "Tệp bị từ chối: khi mở, tệp sẽ tự tải nội dung từ bên ngoài (“%(target)s”, "
                "khai báo trong “%(part)s”). Hãy bỏ mẫu hoặc đối tượng liên kết ngoài rồi lưu lại."
            )
            % {"target": (rel.get("Target") or "")[:100], "part": part[:100]},
            "external_link",
        )


# --- images ----------------------------------------------------------------------------------


_STRICT_DECODING = threading.Lock()


@contextmanager
def _strict_decoding() -> Iterator[None]:
    """Pillow decodes with ``ImageFile.LOAD_TRUNCATED_IMAGES`` off for the duration.

    The flag is process-wide, and importing WeasyPrint (any PDF export run in that worker) turns
    it on for good: a truncated JPEG would then decode "fine" and be accepted. Checks hold a
    lock so that two of them never restore each other's value; the PDFs render no uploaded
    image, so WeasyPrint seeing it off meanwhile changes nothing.
    """
    from PIL import ImageFile

    with _STRICT_DECODING:
        saved = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = saved


def check_image(fh: IO[bytes], kind: str) -> None:
    """Refuses an image above the pixel limit, structurally broken, or whose pixel data does
    not decode (garbage or truncated), in bounded memory."""
    from PIL import Image

    fmt = "PNG" if kind == "png" else "JPEG"
    broken = refused(_("Ảnh bị hỏng hoặc không đọc được."), "bad_image")
    fh.seek(0)
    try:
        with _strict_decoding(), Image.open(fh, formats=[fmt]) as img:
            width, height = img.size
            if width * height > MAX_IMAGE_PIXELS:
                raise refused(
                    _("Ảnh quá lớn (%(w)s×%(h)s điểm ảnh).") % {"w": width, "h": height},
                    "too_many_pixels",
                )
            img.verify()
        fh.seek(0)
        if kind == "png":
            ok = png_pixels_complete(fh)
        else:
            with _strict_decoding(), Image.open(fh, formats=[fmt]) as img:
                img.draft(img.mode, (max(width // 8, 1), max(height // 8, 1)))
                img.load()  # every scan is decoded, at 1/8 scale
            ok = True
    except ValidationFailed:
        raise
    except Image.DecompressionBombError as exc:
        raise refused(_("Ảnh quá lớn (số điểm ảnh vượt giới hạn)."), "too_many_pixels") from exc
    except Exception as exc:  # noqa: BLE001 - Pillow and zlib raise many kinds for broken images
        raise broken from exc
    if not ok:
        raise broken


def _png_scanline_bytes(width: int, height: int, depth: int, colour: int, interlace: int) -> int:
    bits = PNG_CHANNELS[colour] * depth
    passes = ADAM7 if interlace else ((0, 0, 1, 1),)
    total = 0
    for x0, y0, dx, dy in passes:
        w, h = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if w > 0 and h > 0:
            total += h * (1 + -(-(w * bits) // 8))  # a filter byte, then the packed samples
    return total


def png_pixels_complete(fh: IO[bytes]) -> bool:
    """Whether the IDAT stream inflates to exactly the scanlines IHDR announces (no more, no
    less), read and inflated ``CHUNK`` by ``CHUNK``. CRCs were checked by ``verify()``."""
    fh.seek(8)
    length, ctype = struct.unpack(">I4s", fh.read(8))
    if ctype != b"IHDR" or length != 13:
        return False
    width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", fh.read(13))
    if colour not in PNG_CHANNELS:
        return False
    expected = _png_scanline_bytes(width, height, depth, colour, interlace)
    fh.seek(4, 1)
    inflater, got = zlib.decompressobj(), 0
    while len(header := fh.read(8)) == 8:
        length, ctype = struct.unpack(">I4s", header)
        if ctype == b"IEND":
            return inflater.eof and got == expected
        if ctype != b"IDAT":
            fh.seek(length + 4, 1)
            continue
        remaining = length
        while remaining:
            data = fh.read(min(CHUNK, remaining))
            if not data:
                return False
            remaining -= len(data)
            while data:
                got += len(inflater.decompress(data, CHUNK))
                if got > expected:
                    return False
                data = inflater.unconsumed_tail
        fh.seek(4, 1)
    return False
