"""Reporting pages: the agency work inbox, the submission form (live points, carry-over,
evidence), the lead's consolidation panel, downloads, and the agency workbook round trip."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST
from django_sendfile import sendfile

from dti_portal.errors import Conflict, DomainError, ValidationFailed

from .. import selectors, services
from ..models import EvidenceFile, ReportingPeriod, Submission
from ..services.evidence_files import INLINE_KINDS, max_upload_bytes
from ..services.submissions import (
    clean_values,
    compute_points,
    display_value,
    format_points,
    level_keys,
    level_label,
    measures_of,
)
from ..uploadhandlers import HashingTemporaryFileUploadHandler


def _rid(request: HttpRequest) -> str:
    return getattr(request, "request_id", "")


def _period_or_current(request: HttpRequest) -> ReportingPeriod | None:
    pk = request.GET.get("period")
    if pk:
        return selectors.period_get(user=request.user, pk=pk)
    return selectors.current_period()


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


# --- inbox -----------------------------------------------------------------------------------


@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """The agency's work for a period: due items, countdown, states, returned reasons."""
    period = _period_or_current(request)
    box = selectors.agency_inbox(user=request.user, period=period)
    periods = selectors.period_list(user=request.user)[:12]
    return render(
        request,
        "evidence/reporting/inbox.html",
        {"inbox": box, "period": period, "periods": periods},
    )


# --- submission form -------------------------------------------------------------------------


def _measure_rows(
    measures: list[Any], values: dict[str, Any], errors: dict[str, str]
) -> list[dict]:
    rows = []
    for m in measures:
        rows.append(
            {
                "m": m,
                "name": f"v_{m.code}",
                "value": values.get(m.code, ""),
                "error": errors.get(m.code, ""),
                "choices": [(k, level_label(m, k)) for k in level_keys(m)],
            }
        )
    return rows


def _contribution_rows(contributions: list[Any], measures: list[Any]) -> list[dict[str, Any]]:
    from django.db.models import Count

    ids = [c.submission.pk for c in contributions if c.submission]
    counts = dict(
        EvidenceFile.objects.filter(submission__in=ids)
        .values("submission")
        .annotate(n=Count("id"))
        .values_list("submission", "n")
    )
    rows = []
    for c in contributions:
        sub = c.submission
        rows.append(
            {
                "agency": c.agency,
                "sub": sub,
                "values": [(m.label, display_value(m, sub.values.get(m.code))) for m in measures]
                if sub
                else [],
                "points": format_points(sub.self_points)
                if sub and sub.self_points is not None
                else "",
                "evidence": counts.get(sub.pk, 0) if sub else 0,
            }
        )
    return rows


def _posted_values(request: HttpRequest, measures: list[Any]) -> dict[str, str]:
    return {m.code: request.POST.get(f"v_{m.code}", "") for m in measures}


def _form_context(
    request: HttpRequest,
    *,
    period: ReportingPeriod,
    indicator: Any,
    sub: Submission | None,
    values: dict[str, Any],
    note: str,
    reason: str,
    errors: dict[str, Any] | None = None,
    conflict: str = "",
) -> dict[str, Any]:
    errors = errors or {}
    measures = measures_of(indicator)
    role = "lead" if indicator.lead_agency_id == request.user.agency_id else "coordinator"  # type: ignore[union-attr]
    clean, _errs = clean_values(measures, values)
    preview = compute_points(indicator, measures, clean) if not _errs else None
    contributions = proposal = None
    if role == "lead":
        contributions = selectors.lead_contributions(
            user=request.user, indicator=indicator, period=period
        )
        proposal = services.lead_proposal(indicator=indicator, period=period)
    returned = sub is not None and sub.state == Submission.State.RETURNED
    editable = (
        returned
        or (sub is None or sub.is_editable_state)
        and services.item_is_open(
            period,
            indicator_id=indicator.pk,
            agency_id=getattr(request.user, "agency_id", None) or 0,
        )
    )
    return {
        "period": period,
        "indicator": indicator,
        "sub": sub,
        "role": role,
        "rows": _measure_rows(measures, values, errors.get("values", {})),
        "note": note,
        "consolidation_reason": reason,
        "errors": errors,
        "conflict": conflict,
        "preview": preview,
        "editable": editable,
        "evidence": list(sub.evidence.select_related("uploaded_by")) if sub else [],
        "reusable": list(selectors.reusable_evidence(user=request.user, submission=sub)[:20])
        if sub and editable
        else [],
        "contributions": contributions,
        "contribution_rows": _contribution_rows(contributions or [], measures),
        "proposal": proposal,
        "proposal_rows": [(m.label, display_value(m, proposal.get(m.code))) for m in measures]
        if proposal
        else [],
        "version": sub.version if sub else 0,
        "max_mb": max_upload_bytes() // (1024 * 1024),
    }


def submission_edit(request: HttpRequest, period_pk: int, indicator_pk: int) -> HttpResponse:
    """The agency's form for one assigned sub-indicator in one period (create or edit)."""
    period = selectors.period_get(user=request.user, pk=period_pk)
    indicator = selectors.assigned_indicator_get(user=request.user, period=period, pk=indicator_pk)
    sub = selectors.own_submission(user=request.user, indicator=indicator, period=period)
    measures = measures_of(indicator)
    if request.method == "POST":
        values = _posted_values(request, measures)
        note = request.POST.get("note", "")
        reason = request.POST.get("consolidation_reason", "")
        try:
            if request.POST.get("action") == "carry_over":
                sub = services.submission_carry_over(
                    actor=request.user,  # type: ignore[arg-type]
                    indicator=indicator,
                    period=period,
                    version=int(request.POST.get("version") or 0) or None,
                )
                messages.success(request, _("Đã chép số liệu của quý trước."))
            elif sub is None:
                if int(request.POST.get("version") or 0) != 0:
                    raise Conflict(_("Báo cáo đã bị xóa hoặc thay đổi."))
                sub = services.submission_create(
                    actor=request.user,  # type: ignore[arg-type]
                    indicator=indicator,
                    period=period,
                    values=values,
                    note=note,
                    consolidation_reason=reason,
                )
                messages.success(request, _("Đã lưu bản nháp."))
            else:
                sub = services.submission_update(
                    submission=sub,
                    actor=request.user,  # type: ignore[arg-type]
                    version=int(request.POST.get("version") or 0),
                    values=values,
                    note=note,
                    consolidation_reason=reason,
                )
                messages.success(request, _("Đã lưu bản nháp."))
            return redirect(
                "evidence:submission_edit", period_pk=period.pk, indicator_pk=indicator.pk
            )
        except Conflict as exc:
            latest = selectors.own_submission(user=request.user, indicator=indicator, period=period)
            ctx = _form_context(
                request,
                period=period,
                indicator=indicator,
                sub=latest,
                values=values,
                note=note,
                reason=reason,
                conflict=exc.message,
            )
            ctx["current_values"] = (
                [(m.label, display_value(m, latest.values.get(m.code))) for m in measures]
                if latest
                else []
            )
            return render(request, "evidence/reporting/submission_form.html", ctx, status=409)
        except DomainError as exc:
            ctx = _form_context(
                request,
                period=period,
                indicator=indicator,
                sub=sub,
                values=values,
                note=note,
                reason=reason,
                errors={**exc.errors, "detail": exc.message},
            )
            return render(
                request, "evidence/reporting/submission_form.html", ctx, status=exc.status_code
            )
    current: dict[str, Any] = dict(sub.values) if sub else {}
    if request.GET.get("use_proposal") == "1":
        current.update(services.lead_proposal(indicator=indicator, period=period))
    ctx = _form_context(
        request,
        period=period,
        indicator=indicator,
        sub=sub,
        values=current,
        note=sub.note if sub else "",
        reason=sub.consolidation_reason if sub else "",
    )
    return render(request, "evidence/reporting/submission_form.html", ctx)


@require_POST
def points_preview(request: HttpRequest, period_pk: int, indicator_pk: int) -> HttpResponse:
    """htmx: the self-assessed points of the values being typed ("giá trị này cho 7,5/10 điểm")."""
    period = selectors.period_get(user=request.user, pk=period_pk)
    indicator = selectors.assigned_indicator_get(user=request.user, period=period, pk=indicator_pk)
    measures = measures_of(indicator)
    clean, errors = clean_values(measures, _posted_values(request, measures))
    preview = None if errors else compute_points(indicator, measures, clean)
    return render(
        request,
        "evidence/reporting/_points.html",
        {"preview": preview, "value_errors": errors, "indicator": indicator},
    )


@require_POST
def submission_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Sends the agency's submission on: a coordinator's to the lead, the lead's to the Sở."""
    sub = selectors.submission_get(user=request.user, pk=pk)
    if sub.agency_id != request.user.agency_id:  # type: ignore[union-attr]
        raise Http404
    try:
        with services.audit_context(request):
            sub = services.submission_submit(
                submission=sub,
                actor=request.user,  # type: ignore[arg-type]
                version=int(request.POST.get("version") or 0),
            )
    except DomainError as exc:
        messages.error(request, exc.message or _("Không gửi được báo cáo."))
    else:
        if sub.state == Submission.State.SUBMITTED_TO_LEAD:
            messages.success(request, _("Đã gửi báo cáo cho cơ quan chủ trì."))
        else:
            messages.success(request, _("Đã gửi báo cáo tổng hợp về Sở KH&CN."))
    return redirect(
        "evidence:submission_edit", period_pk=sub.period_id, indicator_pk=sub.indicator_id
    )


@require_GET
def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Read-only view of a submission in the user's scope (a lead reading a contribution)."""
    sub = selectors.submission_get(user=request.user, pk=pk)
    measures = measures_of(sub.indicator)
    return render(
        request,
        "evidence/reporting/submission_detail.html",
        {
            "sub": sub,
            "value_rows": [(m.label, display_value(m, sub.values.get(m.code))) for m in measures],
            "evidence": list(selectors.evidence_list(user=request.user).filter(submission=sub)),
            "points": format_points(sub.self_points) if sub.self_points is not None else "—",
        },
    )


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
    meta = {
        "doc_number": request.POST.get("doc_number", ""),
        "doc_date": _parse_date(request.POST.get("doc_date", "")),
        "issuer": request.POST.get("issuer", ""),
        "summary": request.POST.get("summary", ""),
    }
    try:
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
    return _back(sub)


def _parse_date(text: str) -> Any:
    import datetime

    text = (text or "").strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


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


# --- periods (reviewers) ---------------------------------------------------------------------


def period_manage(request: HttpRequest) -> HttpResponse:
    """Sở KH&CN: open quarters and annual rounds, move deadlines, close/reopen, and reopen one
    item for one agency (every action audited by the services)."""
    import datetime

    from django.core.exceptions import PermissionDenied

    from agencies.models import Agency
    from indicators.models import Framework, Indicator

    if not getattr(request.user, "is_reviewer", False):
        raise PermissionDenied
    actor: Any = request.user
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            with services.audit_context(request):
                if action == "create":
                    quarter = request.POST.get("quarter") or None
                    services.period_create(
                        actor=actor,
                        framework=Framework.objects.get(pk=request.POST.get("framework", "")),
                        year=int(request.POST.get("year") or 0),
                        quarter=int(quarter) if quarter else None,
                        deadline=_parse_date(request.POST.get("deadline", "")),
                        request_id=_rid(request),
                    )
                    messages.success(request, _("Đã mở kỳ báo cáo."))
                else:
                    period = selectors.period_get(user=actor, pk=request.POST.get("period"))
                    if action == "extend":
                        deadline = _parse_date(request.POST.get("deadline", ""))
                        if deadline is None:
                            raise ValidationFailed(_("Hãy chọn hạn mới."))
                        services.period_extend(
                            actor=actor,
                            period=period,
                            deadline=deadline,
                            reason=request.POST.get("reason", ""),
                            request_id=_rid(request),
                        )
                        messages.success(request, _("Đã đổi hạn báo cáo."))
                    elif action == "close":
                        services.period_close(actor=actor, period=period, request_id=_rid(request))
                        messages.success(request, _("Đã khóa kỳ báo cáo."))
                    elif action == "open":
                        services.period_open(actor=actor, period=period, request_id=_rid(request))
                        messages.success(request, _("Đã mở lại kỳ báo cáo."))
                    elif action == "item":
                        deadline = _parse_date(request.POST.get("deadline", ""))
                        if deadline is None:
                            raise ValidationFailed(_("Hãy chọn hạn mới."))
                        services.item_extension_grant(
                            actor=actor,
                            period=period,
                            indicator=Indicator.objects.get(
                                pk=request.POST.get("indicator", ""), framework=period.framework
                            ),
                            agency=Agency.objects.get(pk=request.POST.get("agency", "")),
                            deadline=deadline,
                            reason=request.POST.get("reason", ""),
                            request_id=_rid(request),
                        )
                        messages.success(request, _("Đã mở lại chỉ số cho cơ quan."))
                    else:
                        raise ValidationFailed(_("Thao tác không hợp lệ."))
            return redirect("evidence:period_manage")
        except (ValueError, Framework.DoesNotExist, Indicator.DoesNotExist, Agency.DoesNotExist):
            messages.error(request, _("Dữ liệu không hợp lệ."))
            status = 400
        except DomainError as exc:
            detail = "; ".join(str(m) for msgs in exc.errors.values() for m in msgs)
            messages.error(request, f"{exc.message} {detail}".strip())
            status = exc.status_code
    periods = list(
        selectors.period_list(user=actor).prefetch_related(
            "extensions__agency", "extensions__indicator"
        )
    )
    return render(
        request,
        "evidence/reporting/periods.html",
        {
            "periods": [(p, services.period_is_locked(p)) for p in periods],
            "frameworks": Framework.objects.exclude(status=Framework.Status.ARCHIVED),
            "agencies": Agency.objects.filter(is_active=True).order_by("name"),
            "indicators": Indicator.objects.filter(level=Indicator.Level.SUB)
            .select_related("framework")
            .order_by("framework__code", "sort_key"),
            "this_year": datetime.date.today().year,
        },
        status=status,
    )
