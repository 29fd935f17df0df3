"""Evidence pages: downloads (scoped, inline previews), upload, removal, reuse."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST
from django_sendfile import sendfile

from dti_portal.errors import DomainError, ValidationFailed

from .. import selectors, services
from ..models import EvidenceFile, Submission
from ..services.evidence_files import INLINE_KINDS
from ..uploadhandlers import HashingTemporaryFileUploadHandler
from ._common import _parse_date, _rid, remember_form

# What the upload form keeps after a refusal (the file itself must be chosen again).
UPLOAD_FIELDS = ("url", "doc_number", "doc_date", "issuer", "summary")

# --- downloads -------------------------------------------------------------------------------


def evidence_file_response(request: HttpRequest, ev: EvidenceFile, *, actor: Any) -> HttpResponse:
    """Sends a stored evidence file through django-sendfile2 (X-Accel-Redirect in production).

    ``?inline=1`` previews PDFs and images in the browser; everything else is an attachment.
    The original name goes in ``Content-Disposition`` (RFC 6266/5987 by Django's helper).
    """
    if ev.kind != EvidenceFile.Kind.FILE or not ev.file:
        raise Http404
    inline = request.GET.get("inline") == "1" and ev.mime_type in INLINE_KINDS
    response = sendfile(
        request,
        ev.file.path,
        attachment=not inline,
        attachment_filename=False,
        mimetype=ev.mime_type or "application/octet-stream",
    )
    response["Content-Disposition"] = content_disposition_header(
        not inline, ev.original_name or "tai-lieu"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    services.evidence_download_audit(evidence=ev, actor=actor, request_id=_rid(request))
    return response


@require_GET
@xframe_options_sameorigin  # ?inline=1 previews in the review page's same-origin iframe
def evidence_download(request: HttpRequest, pk: int) -> HttpResponse:
    ev = selectors.evidence_get(user=request.user, pk=pk)
    return evidence_file_response(request, ev, actor=request.user)


# --- evidence --------------------------------------------------------------------------------


def _back(sub: Submission) -> HttpResponse:
    return redirect(
        reverse("evidence:submission_edit", args=[sub.period_id, sub.indicator_id]) + "#evidence"
    )


@csrf_exempt
def evidence_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Streams the upload to a temporary file on disk before anything reads it."""
    if request.method == "POST":
        request.upload_handlers = [HashingTemporaryFileUploadHandler(request)]
    return _evidence_upload(request, pk)


@csrf_protect
@require_POST
def _evidence_upload(request: HttpRequest, pk: int) -> HttpResponse:
    sub = selectors.submission_get(user=request.user, pk=pk, related=False)
    typed_date = request.POST.get("doc_date", "").strip()
    meta = {
        "doc_number": request.POST.get("doc_number", ""),
        "doc_date": _parse_date(typed_date),
        "issuer": request.POST.get("issuer", ""),
        "summary": request.POST.get("summary", ""),
    }
    try:
        if typed_date and meta["doc_date"] is None:  # refused, as the API does, not dropped
            message = _("Ngày ban hành không hợp lệ: hãy nhập theo dạng dd/mm/yyyy.")
            raise ValidationFailed(message, errors={"doc_date": [message]})
        if request.FILES.get("file"):
            ev = services.evidence_add_file(
                submission=sub,
                actor=request.user,  # type: ignore[arg-type]
                upload=request.FILES["file"],  # type: ignore[arg-type]
                request_id=_rid(request),
                **meta,
            )
            messages.success(request, _("Đã tải lên “%(name)s”.") % {"name": ev.original_name})
        elif request.POST.get("url"):
            services.evidence_add_link(
                submission=sub,
                actor=request.user,  # type: ignore[arg-type]
                url=request.POST["url"],
                request_id=_rid(request),
                **meta,
            )
            messages.success(request, _("Đã thêm đường dẫn."))
        else:
            raise ValidationFailed(_("Hãy chọn tệp hoặc nhập đường dẫn."))
    except DomainError as exc:
        messages.error(request, exc.message)
        remember_form(request, f"upload:{sub.pk}", UPLOAD_FIELDS, exc)
    return _back(sub)


@require_POST
def evidence_remove(request: HttpRequest, pk: int) -> HttpResponse:
    ev = selectors.evidence_get(user=request.user, pk=pk)
    try:
        services.evidence_remove(evidence=ev, actor=request.user, request_id=_rid(request))  # type: ignore[arg-type]
        messages.success(request, _("Đã xóa tài liệu."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return _back(ev.submission)


@require_POST
def evidence_reuse(request: HttpRequest, pk: int) -> HttpResponse:
    sub = selectors.submission_get(user=request.user, pk=pk)
    source = selectors.evidence_get(user=request.user, pk=request.POST.get("source"))
    try:
        services.evidence_reuse(
            submission=sub,
            actor=request.user,  # type: ignore[arg-type]
            source=source,
            request_id=_rid(request),
        )
        messages.success(request, _("Đã dùng lại tài liệu “%(n)s”.") % {"n": source.original_name})
    except DomainError as exc:
        messages.error(request, exc.message)
    return _back(sub)
