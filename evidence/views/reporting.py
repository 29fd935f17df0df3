"""Reporting pages: the agency work inbox, the submission form (live points, carry-over,
evidence), the lead's consolidation panel. Downloads and evidence: :mod:`.evidence_files`;
the workbook round trip: :mod:`.workbook`; periods: :mod:`.periods`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dti_portal.errors import Conflict, DomainError

from .. import selectors, services
from ..models import EvidenceFile, ReportingPeriod, Submission
from ..services.evidence_files import max_upload_bytes
from ..services.submissions import measures_of
from ..services.values import (
    clean_values,
    compute_points,
    display_value,
    form_values,
    format_points,
    level_keys,
    level_label,
    own_share_measures,
)
from ._common import _period_or_current, recall_form

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
    measures: list[Any], values: dict[str, Any], errors: dict[str, str], *, prefix: str = "v_"
) -> list[dict]:
    rows = []
    for m in measures:
        rows.append(
            {
                "m": m,
                "name": f"{prefix}{m.code}",
                "optional": prefix != "v_",  # the lead's own part is never required
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


def _typed_value(m: Any, raw: str) -> str:
    """A value as the user typed it; a choice (yes/no, level) by its label."""
    return display_value(m, raw) if m.kind in ("boolean", "level") else raw


def _posted_values(
    request: HttpRequest, measures: list[Any], *, prefix: str = "v_"
) -> dict[str, str]:
    return {m.code: request.POST.get(f"{prefix}{m.code}", "") for m in measures}


def _seen_version(request: HttpRequest) -> int:
    """The version the posted form was showing (0: nothing saved yet). Anything but a number
    counts as 0: a save or a send with it is refused as stale (409), never a server error."""
    raw = (request.POST.get("version") or "").strip()
    return int(raw) if raw.isdigit() else 0


def _is_lead(request: HttpRequest, indicator: Any) -> bool:
    return bool(indicator.lead_agency_id) and indicator.lead_agency_id == getattr(
        request.user, "agency_id", None
    )


def _editable(
    request: HttpRequest, *, period: ReportingPeriod, indicator: Any, sub: Submission | None
) -> bool:
    """The agency may still change the item: a returned item always, a draft (or no
    submission yet) while the item is open."""
    if sub is not None and sub.state == Submission.State.RETURNED:
        return True
    return (sub is None or sub.is_editable_state) and services.item_is_open(
        period,
        indicator_id=indicator.pk,
        agency_id=getattr(request.user, "agency_id", None) or 0,
    )


def _form_context(
    request: HttpRequest,
    *,
    period: ReportingPeriod,
    indicator: Any,
    sub: Submission | None,
    values: dict[str, Any],
    note: str,
    reason: str,
    own_values: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
    conflict: str = "",
    conflict_code: str = "",
    unsaved: bool = False,
    editable: bool | None = None,
) -> dict[str, Any]:
    """``unsaved``: the form shows values that are not the stored ones (a refused save, the
    lead's proposal): the send, which sends the stored values, is not offered until saved.
    ``own_values``: the lead's own part as shown in the form (the proposal shown includes it
    when it is valid, the stored one otherwise)."""
    errors = errors or {}
    measures = measures_of(indicator)
    role = "lead" if _is_lead(request, indicator) else "coordinator"
    clean, _errs = clean_values(measures, values)
    preview = compute_points(indicator, measures, clean) if not _errs else None
    contributions = proposal = None
    own_measures: list[Any] = []
    if role == "lead":
        contributions = selectors.lead_contributions(
            user=request.user, indicator=indicator, period=period
        )
        own_measures = own_share_measures(indicator, measures)
        if own_values is None:
            own_values = form_values(own_measures, dict(sub.own_values or {}) if sub else {})
        own_clean, own_errs = clean_values(own_measures, own_values)
        proposal = services.lead_proposal(
            indicator=indicator,
            period=period,
            own_values=(sub.own_values if sub else None) if own_errs else own_clean,
        )
    if editable is None:
        editable = _editable(request, period=period, indicator=indicator, sub=sub)
    return {
        "period": period,
        "indicator": indicator,
        "sub": sub,
        "role": role,
        # Per measure when the values were refused; a message about the values as a whole
        # (nothing to carry over) is shown with the form's error instead.
        "rows": _measure_rows(
            measures, values, v if isinstance(v := errors.get("values"), dict) else {}
        ),
        "note": note,
        "consolidation_reason": reason,
        "errors": errors,
        "conflict": conflict,
        "conflict_code": conflict_code,
        "unsaved": unsaved and editable,
        "preview": preview,
        "editable": editable,
        "evidence": list(sub.evidence.select_related("uploaded_by")) if sub else [],
        "reusable": list(selectors.reusable_evidence(user=request.user, submission=sub)[:20])
        if sub and editable
        else [],
        "contributions": contributions,
        "contribution_rows": _contribution_rows(contributions or [], measures),
        # The lead's own part is asked for only where there are coordinators to add it to.
        "own_rows": _measure_rows(
            own_measures, own_values or {}, errors.get("own_values", {}), prefix="o_"
        )
        if contributions
        else [],
        "own_error": (errors.get("own_values") or {}).get("__all__", ""),
        "proposal": proposal,
        "proposal_rows": [(m.label, display_value(m, proposal.get(m.code))) for m in measures]
        if proposal
        else [],
        "version": sub.version if sub else 0,
        "max_mb": max_upload_bytes() // (1024 * 1024),
        "returned_by": selectors.last_return(submission=sub),
        "typed": recall_form(request, f"upload:{sub.pk}") if sub else {"data": {}, "errors": {}},
    }


def submission_edit(request: HttpRequest, period_pk: int, indicator_pk: int) -> HttpResponse:
    """The agency's form for one assigned sub-indicator in one period (create or edit)."""
    period = selectors.period_get(user=request.user, pk=period_pk)
    indicator = selectors.assigned_indicator_get(user=request.user, period=period, pk=indicator_pk)
    sub = selectors.own_submission(user=request.user, indicator=indicator, period=period)
    measures = measures_of(indicator)
    is_lead = _is_lead(request, indicator)
    if request.method == "POST":
        values = _posted_values(request, measures)
        note = request.POST.get("note", "")
        reason = request.POST.get("consolidation_reason", "")
        # The lead's own part: only from a form that showed it (a lead with coordinators).
        own: dict[str, str] | None = (
            _posted_values(request, own_share_measures(indicator, measures), prefix="o_")
            if is_lead and "own_part" in request.POST
            else None
        )
        if request.POST.get("action") == "use_proposal" and is_lead:
            return _use_proposal(
                request,
                period=period,
                indicator=indicator,
                sub=sub,
                values=values,
                own=own,
                note=note,
                reason=reason,
            )
        try:
            if request.POST.get("action") == "carry_over":
                sub = services.submission_carry_over(
                    actor=request.user,  # type: ignore[arg-type]
                    indicator=indicator,
                    period=period,
                    version=_seen_version(request),  # 0: a draft saved meanwhile is stale
                )
                messages.success(request, _("Đã chép số liệu của quý trước."))
            elif sub is None:
                if _seen_version(request) != 0:
                    raise Conflict(_("Báo cáo đã bị xóa hoặc thay đổi."))
                sub = services.submission_create(
                    actor=request.user,  # type: ignore[arg-type]
                    indicator=indicator,
                    period=period,
                    values=values,
                    note=note,
                    consolidation_reason=reason,
                    own_values=own,
                )
                messages.success(request, _("Đã lưu bản nháp."))
            else:
                sub = services.submission_update(
                    submission=sub,
                    actor=request.user,  # type: ignore[arg-type]
                    version=_seen_version(request),
                    values=values,
                    note=note,
                    consolidation_reason=reason,
                    own_values=own,
                )
                messages.success(request, _("Đã lưu bản nháp."))
            return redirect(
                "evidence:submission_edit", period_pk=period.pk, indicator_pk=indicator.pk
            )
        except Conflict as exc:
            latest = selectors.own_submission(user=request.user, indicator=indicator, period=period)
            editable = _editable(request, period=period, indicator=indicator, sub=latest)
            typed: list[tuple[str, str]] = []
            if not editable:
                # Read-only now (sent meanwhile, or locked): the form shows what is stored and
                # what was typed is listed in the message, not offered for saving again.
                typed = [
                    (m.label, _typed_value(m, values[m.code]))
                    for m in measures
                    if values[m.code].strip()
                ]
                values = form_values(measures, dict(latest.values) if latest else {})
                note = latest.note if latest else ""
                reason = latest.consolidation_reason if latest else ""
                own = None  # the stored part
            ctx = _form_context(
                request,
                period=period,
                indicator=indicator,
                sub=latest,
                values=values,
                note=note,
                reason=reason,
                own_values=own,
                conflict=exc.message,
                conflict_code=exc.code,
                unsaved=True,
                editable=editable,
            )
            ctx["typed_values"] = typed
            ctx["current_values"] = (
                [(m.label, display_value(m, latest.values.get(m.code))) for m in measures]
                if latest and editable
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
                own_values=own,
                errors={**exc.errors, "detail": exc.message},
                unsaved=True,
            )
            return render(
                request, "evidence/reporting/submission_form.html", ctx, status=exc.status_code
            )
    stored: dict[str, Any] = dict(sub.values) if sub else {}
    current = dict(stored)
    if request.GET.get("use_proposal") == "1":
        current.update(
            services.lead_proposal(
                indicator=indicator, period=period, own_values=sub.own_values if sub else None
            )
        )
    ctx = _form_context(
        request,
        period=period,
        indicator=indicator,
        sub=sub,
        # Stored numbers in the reader's format: saving the form unchanged stores them again.
        values=form_values(measures, current),
        note=sub.note if sub else "",
        reason=sub.consolidation_reason if sub else "",
        unsaved=current != stored,
    )
    return render(request, "evidence/reporting/submission_form.html", ctx)


def _use_proposal(
    request: HttpRequest,
    *,
    period: ReportingPeriod,
    indicator: Any,
    sub: Submission | None,
    values: dict[str, str],
    own: dict[str, str] | None,
    note: str,
    reason: str,
) -> HttpResponse:
    """The lead's form again, its consolidated values replaced by the proposal combined with
    the own part as typed (nothing saved: the lead reviews, then saves)."""
    measures = measures_of(indicator)
    own_measures = own_share_measures(indicator, measures)
    typed_own = own if own is not None else form_values(own_measures, sub.own_values if sub else {})
    own_clean, own_errors = clean_values(own_measures, typed_own)
    if not own_errors:
        proposal = services.lead_proposal(indicator=indicator, period=period, own_values=own_clean)
        values = {**values, **form_values(measures, proposal)}
    ctx = _form_context(
        request,
        period=period,
        indicator=indicator,
        sub=sub,
        values=values,
        note=note,
        reason=reason,
        own_values=typed_own,
        errors={"own_values": own_errors} if own_errors else None,
        unsaved=True,
    )
    return render(
        request, "evidence/reporting/submission_form.html", ctx, status=400 if own_errors else 200
    )


@require_POST
def points_preview(request: HttpRequest, period_pk: int, indicator_pk: int) -> HttpResponse:
    """htmx: the self-assessed points of the values being typed ("giá trị này cho 7,5/10 điểm");
    400 with the field errors when a value is refused."""
    period = selectors.period_get(user=request.user, pk=period_pk)
    indicator = selectors.assigned_indicator_get(user=request.user, period=period, pk=indicator_pk)
    measures = measures_of(indicator)
    clean, errors = clean_values(measures, _posted_values(request, measures))
    preview = None if errors else compute_points(indicator, measures, clean)
    return render(
        request,
        "evidence/reporting/_points.html",
        {"preview": preview, "value_errors": errors, "indicator": indicator},
        status=400 if errors else 200,
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
                version=_seen_version(request),
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
            "own_rows": [
                (m.label, display_value(m, sub.own_values[m.code]))
                for m in measures
                if sub.is_consolidation and (sub.own_values or {}).get(m.code) not in (None, "")
            ],
            "evidence": list(selectors.evidence_list(user=request.user).filter(submission=sub)),
            "points": format_points(sub.self_points) if sub.self_points is not None else "—",
            # The Sở's and the council's decisions, with their full reasons: the council reads
            # them here (its list truncates the reasons; the review page is the Sở's only).
            "appraised": None
            if sub.appraised_points is None
            else format_points(sub.appraised_points),
            "final": None if sub.final_points is None else format_points(sub.final_points),
        },
    )
