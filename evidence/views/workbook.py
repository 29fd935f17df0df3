"""The agency workbook round trip: download the period's items, upload them filled in."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from dti_portal.errors import DomainError, ValidationFailed

from .. import selectors, services

# --- workbook round trip ---------------------------------------------------------------------

WORKBOOK_SESSION_KEY = "reporting_workbook_preview"


@require_GET
def workbook_download(request: HttpRequest, period_pk: int) -> HttpResponse:
    from ..services.workbook import workbook_build

    period = selectors.period_get(user=request.user, pk=period_pk)
    content = workbook_build(user=request.user, period=period)  # type: ignore[arg-type]
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    agency = request.user.agency.code if request.user.agency else "co-quan"  # type: ignore[union-attr]
    name = f"bao-cao-{agency}-{period.year}-{'ca-nam' if period.quarter is None else f'q{period.quarter}'}.xlsx"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@csrf_exempt
def workbook_upload(request: HttpRequest, period_pk: int) -> HttpResponse:
    if request.method == "POST":
        request.upload_handlers = [TemporaryFileUploadHandler(request)]
    return _workbook_upload(request, period_pk)


@csrf_protect
def _workbook_upload(request: HttpRequest, period_pk: int) -> HttpResponse:
    """GET: the upload form. POST: the preview (changes and invalid cells), nothing saved."""
    from ..services.workbook import workbook_preview

    period = selectors.period_get(user=request.user, pk=period_pk)
    ctx: dict[str, Any] = {"period": period}
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationFailed(_("Hãy chọn tệp Excel."))
            if (
                services.period_is_locked(period)
                and not period.extensions.filter(
                    agency_id=getattr(request.user, "agency_id", None) or 0
                ).exists()
            ):
                raise ValidationFailed(
                    _("Kỳ báo cáo %(p)s đã khóa (hạn %(d)s): không nhận tệp Excel.")
                    % {"p": period, "d": period.deadline.strftime("%d/%m/%Y")}
                )
            preview = workbook_preview(
                user=request.user,  # type: ignore[arg-type]
                period=period,
                fh=upload,
                name=upload.name or "",
                size=upload.size or 0,
            )
        except DomainError as exc:
            ctx["error"] = exc.message
            status = 400
        else:
            ctx["preview"] = preview
            if preview.is_valid and preview.changed_items:
                request.session[WORKBOOK_SESSION_KEY] = preview.payload()
            else:
                request.session.pop(WORKBOOK_SESSION_KEY, None)
                status = 400 if not preview.is_valid else 200
    return render(request, "evidence/reporting/workbook_upload.html", ctx, status=status)


@require_POST
def workbook_confirm(request: HttpRequest, period_pk: int) -> HttpResponse:
    from ..services.workbook import workbook_apply

    period = selectors.period_get(user=request.user, pk=period_pk)
    payload = request.session.pop(WORKBOOK_SESSION_KEY, None)
    if not payload:
        messages.error(request, _("Không có bản xem trước để lưu; hãy tải tệp lên lại."))
        return redirect("evidence:workbook_upload", period_pk=period.pk)
    try:
        count = workbook_apply(user=request.user, period=period, payload=payload)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, _("Chưa lưu gì: %(m)s") % {"m": exc.message})
        return redirect("evidence:workbook_upload", period_pk=period.pk)
    messages.success(request, _("Đã lưu %(n)s chỉ số thành bản nháp.") % {"n": count})
    return redirect(reverse("evidence:inbox") + f"?period={period.pk}")
