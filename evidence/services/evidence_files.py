"""Evidence files and links: content-based type checks, hostile-file refusal, hashing, reuse.

An upload is checked in this order, before anything is stored: size; zip containers (DOCX,
XLSX, ODT, ODS) by their central directory only (entry count, declared sizes and ratios, so a
zip bomb is refused before any byte is inflated), then macros (VBA, ODF Basic/scripts),
programs or web pages packed inside, and relationships fetching from elsewhere on opening;
OLE containers (DOC, XLS) for encryption and VBA; the type detected from the content with
libmagic (never the name or the browser's Content-Type) against the allow-list; the name's
extension against the detected type; images against a pixel limit, then decoded. The same
content (SHA-256) is stored once per submission. Nothing is written unless every check passes.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlparse

import magic
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils.translation import gettext as _

from agencies.models import User
from agencies.services import audit
from dti_portal.errors import Conflict, NotAllowed, ValidationFailed

from ..models import EvidenceFile, Submission
from ..uploadhandlers import DIGEST_ATTR
from .content_checks import (
    MAX_SMALL_PART,
    UNREADABLE,
    ZipBudget,
    budget_excess,
    check_image,
    count_number,
    read_small_part,
    refused,
    scan_zip_content,
    size_number,
)
from .submissions import assert_item_open

CHUNK = 64 * 1024
HEAD = 256 * 1024
MAX_ZIP_ENTRIES = 1000
MAX_ZIP_TOTAL = 200 * 1024 * 1024
MAX_ZIP_ENTRY = 100 * 1024 * 1024
MAX_ZIP_RATIO = 100
EVIDENCE_ZIP_BUDGET = ZipBudget(
    max_entries=MAX_ZIP_ENTRIES,
    max_total=MAX_ZIP_TOTAL,
    max_entry=MAX_ZIP_ENTRY,
    max_ratio=MAX_ZIP_RATIO,
)
MAX_NAME = 200
MAX_FILES_PER_SUBMISSION = 30

# detected kind → (stored MIME type, accepted extensions)
ALLOWED: dict[str, tuple[str, tuple[str, ...]]] = {
    "pdf": ("application/pdf", (".pdf",)),
    "png": ("image/png", (".png",)),
    "jpg": ("image/jpeg", (".jpg", ".jpeg")),
    "doc": ("application/msword", (".doc",)),
    "xls": ("application/vnd.ms-excel", (".xls",)),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (".docx",),
    ),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
    "odt": ("application/vnd.oasis.opendocument.text", (".odt",)),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", (".ods",)),
}
INLINE_KINDS = {"application/pdf", "image/png", "image/jpeg"}
MAGIC_TO_KIND = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "application/msword": "doc",
    "application/vnd.ms-excel": "xls",
}
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")
VBA_MARKS = ("_VBA_PROJECT".encode("utf-16-le"), "Macros".encode("utf-16-le"))
EXECUTABLE_MIMES = {
    "application/x-dosexec",
    "application/x-msdownload",
    "application/x-executable",
    "application/x-sharedlib",
    "application/x-pie-executable",
    "application/x-mach-binary",
    "application/x-elf",
    "application/vnd.microsoft.portable-executable",
    "text/x-shellscript",
    "application/x-msi",
}
ACCEPTED_TEXT = "PDF, Word (DOC, DOCX), Excel (XLS, XLSX), OpenDocument (ODT, ODS), JPG, PNG"


def max_upload_bytes() -> int:
    return int(getattr(settings, "EVIDENCE_MAX_UPLOAD_BYTES", 20 * 1024 * 1024))


def _mb(n: int) -> str:
    return size_number(n / (1024 * 1024))


# --- names -----------------------------------------------------------------------------------


def clean_original_name(name: str) -> str:
    """Checks and normalises the original file name kept for display and download.

    Refuses path separators, ``..``, control and bidi-format characters (RTLO); keeps
    Vietnamese diacritics (NFC); shortens overlong names keeping the extension.
    """
    if not name or not name.strip():
        raise refused(_("Tệp không có tên."), "bad_name")
    if "/" in name or "\\" in name or name.strip() in {".", ".."} or ".." in name.split("/"):
        raise refused(
            _("Tên tệp không hợp lệ: không được chứa đường dẫn (/, \\ hoặc ..)."), "bad_name"
        )
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in name):
        raise refused(_("Tên tệp không hợp lệ: chứa ký tự điều khiển hoặc ký tự ẩn."), "bad_name")
    name = unicodedata.normalize("NFC", name.strip())
    if len(name) > MAX_NAME:
        stem, ext = os.path.splitext(name)
        name = stem[: MAX_NAME - len(ext)] + ext
    return name


# --- content checks --------------------------------------------------------------------------


@dataclass(frozen=True)
class Inspected:
    kind: str
    mime: str


def _check_zip(fh: IO[bytes]) -> str:
    """Zip-based Office/ODF: bomb limits from the central directory, macros, then the kind."""
    fh.seek(0)
    try:
        zf = zipfile.ZipFile(fh)
        infos = zf.infolist()
    except (*UNREADABLE, ValueError) as exc:  # NotImplementedError: a zip version from the future
        raise refused(_("Tệp nén bị hỏng hoặc không đọc được."), "bad_zip") from exc
    bomb = _(
        "Tệp bị từ chối: nội dung nén bất thường (có thể là “zip bomb”: %(n)s mục, "
        "giải nén ra %(size)s MB)."
    )
    if budget_excess(infos, EVIDENCE_ZIP_BUDGET) is not None:
        total = sum(i.file_size for i in infos)
        raise refused(bomb % {"n": count_number(len(infos)), "size": _mb(total)}, "zip_bomb")
    names = {i.filename.lower(): i for i in infos}
    macro = _(
        "Tệp chứa macro (VBA) bị từ chối. Hãy lưu lại thành tệp thường (.docx, .xlsx) "
        "không có macro rồi tải lên."
    )
    if any(n.endswith("vbaproject.bin") or n.endswith("vbadata.xml") for n in names):
        raise refused(macro, "macro")
    scan_zip_content(zf, infos)
    ct = names.get("[content_types].xml")
    if ct is not None:
        content_types = read_small_part(zf, ct, MAX_SMALL_PART).decode("utf-8", "replace").lower()
        if "macroenabled" in content_types or "vbaproject" in content_types:
            raise refused(macro, "macro")
        if "word/document" in content_types or "word/document.xml" in names:
            return "docx"
        if "spreadsheetml.sheet.main" in content_types or "xl/workbook.xml" in names:
            return "xlsx"
    mt = names.get("mimetype")
    if mt is not None and mt.file_size < 200:
        with zf.open(mt) as f:
            mimetype = f.read(200).decode("ascii", "replace").strip()
        if mimetype == "application/vnd.oasis.opendocument.text":
            return "odt"
        if mimetype == "application/vnd.oasis.opendocument.spreadsheet":
            return "ods"
    raise refused(
        _("Tệp nén (ZIP) không được chấp nhận. Chỉ nhận: %(types)s.") % {"types": ACCEPTED_TEXT},
        "type",
    )


def _scan_ole(fh: IO[bytes]) -> None:
    """Legacy Office (OLE2/CFB) containers: refuse encrypted files and VBA projects."""
    fh.seek(0)
    tail = b""
    while chunk := fh.read(CHUNK):
        window = tail + chunk
        if ENCRYPTED_MARK in window:
            raise refused(
                _(
                    "Tệp Office có mật khẩu (đã mã hóa) bị từ chối vì không kiểm tra được nội "
                    "dung. Hãy bỏ mật khẩu rồi tải lên."
                ),
                "encrypted",
            )
        if any(mark in window for mark in VBA_MARKS):
            raise refused(_("Tệp chứa macro (VBA) bị từ chối."), "macro")
        tail = window[-64:]


def inspect_upload(fh: IO[bytes], *, name: str, size: int) -> Inspected:
    """Decides what the upload is from its content; raises ValidationFailed when refused."""
    limit = max_upload_bytes()
    if size > limit:
        raise refused(
            _("Tệp quá lớn (%(size)s MB); dung lượng tối đa là %(max)s MB.")
            % {"size": _mb(size), "max": _mb(limit)},
            "too_large",
        )
    if size == 0:
        raise refused(_("Tệp trống."), "empty")
    fh.seek(0)
    head = fh.read(HEAD)
    kind: str | None = None
    if head.startswith(b"PK\x03\x04"):
        kind = _check_zip(fh)  # before anything else touches the content
    elif head.startswith(OLE_SIGNATURE):
        _scan_ole(fh)
    detected = magic.from_buffer(head, mime=True)
    if kind is None:
        if detected in EXECUTABLE_MIMES or head.startswith((b"MZ", b"\x7fELF", b"#!")):
            raise refused(
                _("Tệp chương trình (thực thi) bị từ chối, dù mang tên “%(name)s”.")
                % {"name": name},
                "executable",
            )
        if detected in {"text/html", "image/svg+xml", "text/xml", "application/xml"} or (
            b"<svg" in head[:4096].lower() or b"<html" in head[:4096].lower()
        ):
            raise refused(
                _("Tệp HTML, SVG hoặc XML bị từ chối (có thể chứa mã chạy trong trình duyệt)."),
                "html",
            )
        if head.startswith(OLE_SIGNATURE) and detected not in MAGIC_TO_KIND:
            raise refused(_("Tệp Office cũ này không đọc được hoặc đã bị mã hóa."), "encrypted")
        kind = MAGIC_TO_KIND.get(detected)
    if kind is None:
        raise refused(
            _("Định dạng tệp không được chấp nhận (%(detected)s). Chỉ nhận: %(types)s.")
            % {"detected": detected, "types": ACCEPTED_TEXT},
            "type",
        )
    mime, extensions = ALLOWED[kind]
    ext = os.path.splitext(name)[1].lower()
    if ext not in extensions:
        raise refused(
            _(
                "Phần mở rộng “%(ext)s” không khớp với nội dung tệp (%(kind)s). Hãy đặt đúng "
                "tên tệp, ví dụ “%(example)s”."
            )
            % {"ext": ext or "—", "kind": kind.upper(), "example": "tai-lieu" + extensions[0]},
            "extension",
        )
    if kind in {"png", "jpg"}:
        check_image(fh, kind)
    return Inspected(kind=kind, mime=mime)


def sha256_of(upload: UploadedFile) -> str:
    """SHA-256 of the upload: the one computed while it streamed to disk
    (:class:`~evidence.uploadhandlers.HashingTemporaryFileUploadHandler`) when it covers all of
    the file, else computed chunk by chunk (a temporary upload is read from disk, never whole)."""
    streamed = getattr(upload, DIGEST_ATTR, None)
    if streamed is not None and streamed[0] == upload.size:
        return str(streamed[1])
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks(CHUNK):
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


# --- writes ----------------------------------------------------------------------------------


def _lock_writable(*, submission: Submission, actor: User) -> Submission:
    if not actor.is_agency_staff or actor.agency_id != submission.agency_id:
        raise NotAllowed(_("Chỉ cơ quan báo cáo được thêm hoặc xóa tài liệu kiểm chứng."))
    sub = (
        Submission.objects.select_for_update(of=("self",))  # not the shared period row
        .select_related("period", "indicator", "agency")
        .get(pk=submission.pk)
    )
    if not sub.is_editable_state:
        raise Conflict(
            _("Báo cáo đã gửi (“%(state)s”): tài liệu kiểm chứng không thay đổi được nữa.")
            % {"state": sub.get_state_display()},  # type: ignore[attr-defined]
            code="immutable",
        )
    if sub.state != Submission.State.RETURNED:  # a returned item is answered after the deadline
        assert_item_open(period=sub.period, indicator=sub.indicator, agency=sub.agency)
    return sub


def _room_for_one_more(sub: Submission, *, sha256: str = "") -> str:
    """Refuses one more piece of evidence on ``sub`` (locked by the caller) when it already has
    ``MAX_FILES_PER_SUBMISSION``; returns the name of a file of ``sub`` with the content
    ``sha256``, or "". One query, run after the row lock: a fresh statement, so it sees what a
    concurrent upload to the same submission committed while this one waited for the lock
    (folded into the locking SELECT, the subqueries would read the statement's older snapshot).
    Removals never pass through here: the limit must not block the way back under it."""
    found = (
        EvidenceFile.objects.filter(submission=sub)
        .order_by()
        .aggregate(
            n=Count("pk"),
            same=Min(
                "original_name",
                filter=Q(kind=EvidenceFile.Kind.FILE, sha256=sha256) if sha256 else Q(pk=None),
            ),
        )
    )
    if found["n"] >= MAX_FILES_PER_SUBMISSION:
        raise refused(
            _("Mỗi báo cáo có tối đa %(n)s tài liệu.") % {"n": MAX_FILES_PER_SUBMISSION},
            "too_many",
        )
    return str(found["same"] or "")


def _doc_fields(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "doc_number": (meta.get("doc_number") or "").strip()[:100],
        "doc_date": meta.get("doc_date") or None,
        "issuer": (meta.get("issuer") or "").strip()[:255],
        "summary": (meta.get("summary") or "").strip(),
    }


def evidence_add_file(
    *,
    submission: Submission,
    actor: User,
    upload: UploadedFile,
    request_id: str = "",
    **meta: Any,
) -> EvidenceFile:
    """Checks ``upload`` and attaches it to ``submission`` (draft/returned, period open).

    The file is stored under a random key; the checked original name is kept in the row. The
    same content (SHA-256) twice in one submission is refused, naming the file already there.
    On any failure nothing stays behind: no row, no stored file.
    """
    name = clean_original_name(upload.name or "")
    size = int(upload.size or 0)
    with transaction.atomic():
        sub = _lock_writable(submission=submission, actor=actor)
        inspected = inspect_upload(upload, name=name, size=size)
        digest = sha256_of(upload)
        same = _room_for_one_more(sub, sha256=digest)
        if same:
            raise refused(
                _("Tệp này đã có trong báo cáo (“%(name)s”), không cần tải lên lần nữa.")
                % {"name": same},
                "duplicate",
            )
        ev = EvidenceFile(
            submission=sub,
            kind=EvidenceFile.Kind.FILE,
            original_name=name,
            size=size,
            sha256=digest,
            mime_type=inspected.mime,
            uploaded_by=actor,
            **_doc_fields(meta),
        )
        stored = ""
        try:
            ev.file.save("upload", upload, save=False)
            stored = ev.file.name or ""
            ev.save()
            audit(
                actor=actor,
                action="evidence.upload",
                obj=ev,
                data={"submission": sub.pk, "sha256": digest, "size": size},
                request_id=request_id,
                agency=sub.agency,  # the actor's own agency (checked above), already loaded
            )
        except BaseException:
            if stored:
                ev.file.storage.delete(stored)
            raise
    return ev


@transaction.atomic
def evidence_add_link(
    *, submission: Submission, actor: User, url: str, request_id: str = "", **meta: Any
) -> EvidenceFile:
    """Attaches a link (http/https) as evidence."""
    sub = _lock_writable(submission=submission, actor=actor)
    _room_for_one_more(sub)
    parsed = urlparse(url.strip())
    if parsed.scheme not in {"http", "https"} or not parsed.netloc or len(url) > 1000:
        raise ValidationFailed(
            _("Đường dẫn phải bắt đầu bằng http:// hoặc https://."),
            errors={"url": [_("Đường dẫn phải bắt đầu bằng http:// hoặc https://.")]},
        )
    ev = EvidenceFile.objects.create(
        submission=sub,
        kind=EvidenceFile.Kind.LINK,
        url=url.strip(),
        uploaded_by=actor,
        **_doc_fields(meta),
    )
    audit(
        actor=actor,
        action="evidence.link",
        obj=ev,
        data={"submission": sub.pk, "url": ev.url},
        request_id=request_id,
    )
    return ev


@transaction.atomic
def evidence_remove(*, evidence: EvidenceFile, actor: User, request_id: str = "") -> None:
    """Removes evidence from a draft/returned submission, unless it was attached before the
    item's last submit (``EvidenceFile.was_submitted``: immutable once submitted → 409). The
    stored file is kept when another row (a reuse, or the original) still points to it."""
    sub = _lock_writable(submission=evidence.submission, actor=actor)
    ev = EvidenceFile.objects.select_for_update().get(pk=evidence.pk, submission=sub)
    ev.submission = sub
    if ev.was_submitted:
        raise Conflict(
            _(
                "Tài liệu đã gửi kèm báo cáo nên không xóa được; hãy bổ sung tài liệu mới nếu "
                "cần giải trình."
            ),
            code="immutable",
        )
    name = ev.file.name if ev.kind == EvidenceFile.Kind.FILE else ""
    if ev.reuses.exists():
        raise Conflict(
            _("Tài liệu đang được dùng lại ở kỳ khác nên không xóa được."), code="in_use"
        )
    audit(
        actor=actor,
        action="evidence.remove",
        obj=ev,
        data={"submission": sub.pk, "sha256": ev.sha256, "name": ev.original_name},
        request_id=request_id,
    )
    ev.delete()
    if name and not EvidenceFile.objects.filter(file=name).exists():
        storage = EvidenceFile._meta.get_field("file").storage  # type: ignore[attr-defined]
        transaction.on_commit(lambda: storage.delete(name))


def evidence_download_audit(*, evidence: EvidenceFile, actor: User, request_id: str = "") -> None:
    audit(
        actor=actor,
        action="evidence.download",
        obj=evidence,
        data={"submission": evidence.submission_id},
        request_id=request_id,
        agency=evidence.submission.agency,
    )
