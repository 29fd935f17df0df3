"""Review pages of the Sở KH&CN: the queue, one item with its evidence, the actions, bulk
approve, the appraisal council's final points, and each submission's history tab."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
import rules
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.lookups import LessThan
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from agencies.models import Agency
from dti_portal.errors import DomainError, NotAllowed
from indicators.models import Indicator

from ..history import submission_history
from ..models import EvidenceFile, ReportingPeriod, Submission
from ..selectors import current_period, submission_get, submission_list, with_evidence_count
from ..services import (
    ReturnReason,
    audit_context,
    submission_approve,
    submission_bulk_approve,
    submission_reopen,
    submission_return,
    submission_set_final,
    submission_start_review,
)
from ..services.periods import item_deadline_expr, today_vn
from ..services.values import display_value, format_number
from ._common import recall_form, remember_form

S = Submission.State
PENDING = "pending"
INLINE_IMAGES = ("image/png", "image/jpeg")
INLINE_PDF = "application/pdf"


def _require(request: HttpRequest, perm: str, obj: Any = None) -> None:
    if not rules.has_perm(perm, request.user, obj):
        raise PermissionDenied


def _lead_items(qs: QuerySet[Submission]) -> QuerySet[Submission]:
    """What the Sở reviews: the lead's consolidation, or the item of a sub-indicator without a
    lead; coordinating agencies' contributions are reviewed by their lead."""
    return qs.filter(
        Q(is_consolidation=True)
        | Q(indicator__lead_agency__isnull=True)
        | Q(indicator__lead_agency_id=F("agency_id"))
    )


def _error_text(exc: DomainError) -> str:
    """The error's message and its field messages, once each (shown as a page message)."""
    details = [str(m) for msgs in exc.errors.values() for m in (msgs or [])]
    text = " ".join(dict.fromkeys(m for m in [exc.message, *details] if m))
    return text or _("Không thực hiện được thao tác.")


def _safe_next(request: HttpRequest, default: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, {request.get_host()}, request.is_secure()):
        return nxt
    return default


# --- queue ------------------------------------------------------------------------------------


class ReviewQueueFilter(django_filters.FilterSet):
    """Filters of the review queue (GET parameters)."""

    period = django_filters.ModelChoiceFilter(
        queryset=ReportingPeriod.objects.select_related("framework"),
        label=gettext_lazy("Kỳ báo cáo"),
        empty_label=gettext_lazy("Tất cả"),
    )
    main = django_filters.ModelChoiceFilter(
        field_name="indicator__parent",
        queryset=Indicator.objects.filter(level=Indicator.Level.MAIN).order_by(
            "framework", "sort_key"
        ),
        label=gettext_lazy("Chỉ số chính"),
        empty_label=gettext_lazy("Tất cả"),
    )
    indicator = django_filters.ModelChoiceFilter(
        queryset=Indicator.objects.filter(level=Indicator.Level.SUB).order_by(
            "framework", "sort_key"
        ),
        label=gettext_lazy("Chỉ số thành phần"),
        empty_label=gettext_lazy("Tất cả"),
    )
    agency = django_filters.ModelChoiceFilter(
        queryset=Agency.objects.filter(is_active=True),
        label=gettext_lazy("Cơ quan"),
        empty_label=gettext_lazy("Tất cả"),
    )
    state = django_filters.ChoiceFilter(
        choices=[(PENDING, gettext_lazy("Chờ thẩm định")), *S.choices],
        method="filter_state",
        empty_label=gettext_lazy("Tất cả trạng thái"),
        label=gettext_lazy("Trạng thái"),
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue",
        label=gettext_lazy("Quá hạn"),
        widget=forms.CheckboxInput,
    )

    class Meta:
        model = Submission
        fields: list[str] = []

    def filter_state(self, qs: QuerySet[Submission], name: str, value: str) -> QuerySet:
        if value == PENDING:
            return qs.filter(state__in=[S.SUBMITTED, S.UNDER_REVIEW])
        return qs.filter(state=value)

    def filter_overdue(self, qs: QuerySet[Submission], name: str, value: bool) -> QuerySet:
        """Past the item's deadline (its extension's, else the period's) and not yet approved
        (``qs`` comes from ``review_queryset``, which annotates ``deadline``); a 0-point
        (informational) item is never overdue: it puts no points at risk."""
        if not value:
            return qs
        return qs.filter(LessThan(F("deadline"), today_vn()), indicator__max_points__gt=0).exclude(
            state=S.APPROVED
        )


def review_queryset(user: Any) -> QuerySet[Submission]:
    """The items the Sở reviews, each with the ``deadline`` that applies to it (an item's
    extension, else its period's), ordered by that deadline then points at stake."""
    return (
        with_evidence_count(_lead_items(submission_list(user=user)))
        .select_related("indicator__parent")
        .annotate(deadline=item_deadline_expr())
        .order_by("deadline", "-indicator__max_points", "indicator__sort_key", "agency__name")
    )


@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    _require(request, "evidence.view_review_queue")
    data = request.GET.copy()
    if "state" not in data:
        data["state"] = PENDING
    filt = ReviewQueueFilter(data, queryset=review_queryset(request.user))
    qs = filt.qs if filt.is_valid() else review_queryset(request.user).none()
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    query = data.copy()
    query.pop("page", None)
    return render(
        request,
        "evidence/review/queue.html",
        {
            "filter": filt,
            "page": page,
            "today": today_vn(),
            "query": query.urlencode(),
            "S": S,
        },
    )


@require_POST
def review_bulk_approve(request: HttpRequest) -> HttpResponse:
    """Approves the selected items with their self-assessed points; each is audited; stale or
    invalid ones are skipped and listed."""
    _require(request, "evidence.review_submission")
    items: list[tuple[int, int | None]] = []
    for raw in request.POST.getlist("items"):
        pk, _sep, ver = raw.partition(":")
        if pk.isdigit():
            items.append((int(pk), int(ver) if ver.isdigit() else None))
    back = _safe_next(request, reverse("evidence:review_queue"))
    if not items:
        messages.warning(request, _("Chưa chọn báo cáo nào."))
        return redirect(back)
    with audit_context(request):
        result = submission_bulk_approve(
            actor=request.user,  # type: ignore[arg-type]
            items=items,
            visible=submission_list(user=request.user),
        )
    if result.approved:
        messages.success(request, _("Đã duyệt %(n)s báo cáo.") % {"n": len(result.approved)})
    for _pk, msg in result.skipped:
        messages.warning(request, _("Bỏ qua: %(msg)s") % {"msg": msg})
    return redirect(back)


# --- one item ---------------------------------------------------------------------------------


class ApproveForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    appraised_points = forms.CharField(
        label=gettext_lazy("Điểm thẩm định"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=gettext_lazy("Để trống: bằng điểm tự chấm."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Lý do (bắt buộc khi khác điểm tự chấm)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReturnForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason_code = forms.ChoiceField(
        label=gettext_lazy("Lý do trả lại"), choices=[("", "—"), *ReturnReason.choices]
    )
    reason = forms.CharField(
        label=gettext_lazy("Nội dung cần giải trình, bổ sung"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReopenForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=gettext_lazy("Lý do mở lại"), widget=forms.Textarea(attrs={"rows": 2})
    )


class FinalForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    final_points = forms.CharField(
        label=gettext_lazy("Điểm cuối cùng"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    reason = forms.CharField(
        label=gettext_lazy("Lý do (bắt buộc khi khác điểm thẩm định)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _points_str(value: Decimal | None) -> str:
    """Points pre-filled in a form, in the reader's number format, every decimal kept: saving
    the form unchanged stores the same points (``parse_number`` reads it back)."""
    return "" if value is None else format_number(value)


def _value_rows(
    values: dict[str, Any] | None, measures: list[Any], *, blanks: bool = True
) -> list[tuple[str, str]]:
    """The measures' values as people read them, each labelled with its unit (``blanks``:
    the measures left blank too, as "—")."""
    values = values or {}
    return [
        (f"{m.label}" + (f" ({m.unit})" if m.unit else ""), display_value(m, values.get(m.code)))
        for m in measures
        if blanks or values.get(m.code) not in (None, "")
    ]


def _evidence_view(ev: EvidenceFile) -> dict[str, Any]:
    preview = ""
    if ev.kind == EvidenceFile.Kind.FILE:
        if ev.mime_type == INLINE_PDF:
            preview = "pdf"
        elif ev.mime_type in INLINE_IMAGES:
            preview = "image"
    return {"ev": ev, "preview": preview}


@require_GET
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The item with its values, the lead's consolidation, every contribution and the evidence
    side by side, the review forms and the history."""
    _require(request, "evidence.view_review_queue")
    sub = submission_get(user=request.user, pk=pk)
    evidence_qs = EvidenceFile.objects.order_by("created_at", "id")
    related = list(
        submission_list(user=request.user)
        .filter(indicator_id=sub.indicator_id, period_id=sub.period_id)
        .filter(Q(pk=sub.pk) | ~Q(state=S.DRAFT))
        .prefetch_related(Prefetch("evidence", queryset=evidence_qs))
        .order_by("-is_consolidation", "agency__name")
    )
    measures = list(sub.indicator.measures.all())
    ordered = [r for r in related if r.pk == sub.pk] + [r for r in related if r.pk != sub.pk]
    blocks = [
        {
            "sub": r,
            "is_current": r.pk == sub.pk,
            "values": _value_rows(r.values, measures),
            "own": _value_rows(r.own_values, measures, blanks=False) if r.is_consolidation else [],
            "evidence": [_evidence_view(ev) for ev in r.evidence.all()],
        }
        for r in ordered
    ]
    v = sub.version
    ctx = {
        "sub": sub,
        "blocks": blocks,
        "history": submission_history(submission=sub),
        "approve_form": ApproveForm(initial={"version": v}),
        "return_form": ReturnForm(initial={"version": v}),
        "reopen_form": ReopenForm(initial={"version": v}),
        "final_form": FinalForm(
            initial={
                "version": v,
                "final_points": _points_str(
                    sub.final_points if sub.final_points is not None else sub.appraised_points
                ),
            }
        ),
        "can_review": sub.state in (S.SUBMITTED, S.UNDER_REVIEW),
        "can_start": sub.state == S.SUBMITTED,
        "is_approved": sub.state == S.APPROVED,
        "self_points": _points_str(sub.self_points),
        "typed": {a: recall_form(request, f"review:{pk}:{a}") for a in ACTIONS[1:]},
        "S": S,
    }
    return render(request, "evidence/review/detail.html", ctx)


ACTIONS = ("start", "approve", "return", "reopen", "final")
# What a refused review form keeps for the page it goes back to.
REVIEW_FIELDS = ("appraised_points", "reason_code", "reason", "final_points")


@require_POST
def review_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Runs one transition from the review page; errors come back as messages (nothing changed)."""
    if action not in ACTIONS:
        raise PermissionDenied
    sub = submission_get(user=request.user, pk=pk)
    _require(
        request, "evidence.set_final" if action == "final" else "evidence.review_submission", sub
    )
    post = request.POST
    version_raw = post.get("version", "")
    version = int(version_raw) if version_raw.isdigit() else None
    back = _safe_next(request, reverse("evidence:review_detail", args=[pk]))
    user: Any = request.user
    try:
        with audit_context(request):
            if action == "start":
                submission_start_review(submission=sub, actor=user, version=version)
                messages.info(request, _("Đã nhận thẩm định."))
            elif action == "approve":
                submission_approve(
                    submission=sub,
                    actor=user,
                    version=version,
                    appraised_points=post.get("appraised_points", "").strip() or None,
                    reason=post.get("reason", ""),
                )
                messages.success(request, _("Đã duyệt %(item)s.") % {"item": sub.indicator.code})
                back = _safe_next(request, reverse("evidence:review_queue"))
            elif action == "return":
                submission_return(
                    submission=sub,
                    actor=user,
                    version=version,
                    reason_code=post.get("reason_code", ""),
                    reason=post.get("reason", ""),
                )
                messages.success(request, _("Đã trả lại %(item)s.") % {"item": sub.indicator.code})
                back = _safe_next(request, reverse("evidence:review_queue"))
            elif action == "reopen":
                submission_reopen(
                    submission=sub, actor=user, version=version, reason=post.get("reason", "")
                )
                messages.success(request, _("Đã mở lại %(item)s.") % {"item": sub.indicator.code})
            else:
                submission_set_final(
                    submission=sub,
                    actor=user,
                    version=version,
                    final_points=post.get("final_points", ""),
                    reason=post.get("reason", ""),
                )
                messages.success(
                    request, _("Đã ghi điểm cuối cùng %(item)s.") % {"item": sub.indicator.code}
                )
    except NotAllowed as exc:
        raise PermissionDenied from exc
    except DomainError as exc:
        text = _error_text(exc)
        if action == "final":
            # Also sent from the council page, a row per item: the message says which one.
            text = f"{sub.indicator.code} · {sub.agency.display_name}: {text}"
        messages.error(request, text)
        remember_form(request, f"review:{pk}:{action}", REVIEW_FIELDS, exc)
        return HttpResponseRedirect(
            _safe_next(request, reverse("evidence:review_detail", args=[pk]))
        )
    return HttpResponseRedirect(back)


@require_POST
def return_contribution(request: HttpRequest, pk: int) -> HttpResponse:
    """The lead agency returns a coordinating agency's contribution with a reason."""
    sub = submission_get(user=request.user, pk=pk)
    _require(request, "evidence.return_contribution", sub)
    version_raw = request.POST.get("version", "")
    try:
        with audit_context(request):
            submission_return(
                submission=sub,
                actor=request.user,  # type: ignore[arg-type]
                version=int(version_raw) if version_raw.isdigit() else None,
                reason_code=request.POST.get("reason_code", ""),
                reason=request.POST.get("reason", ""),
            )
        messages.success(
            request,
            _("Đã trả lại phần phối hợp của %(agency)s.") % {"agency": sub.agency.display_name},
        )
    except NotAllowed as exc:
        raise PermissionDenied from exc
    except DomainError as exc:
        messages.error(request, _error_text(exc))
    return redirect("evidence:submission_detail", pk=sub.pk)


# --- appraisal council ------------------------------------------------------------------------


@require_GET
def review_council(request: HttpRequest) -> HttpResponse:
    """Approved items of a period with self-assessed, appraised and final points; the council
    (its members, or a reviewer recording its minutes) confirms or adjusts each final point with
    a reason."""
    _require(request, "evidence.view_council")
    periods = list(ReportingPeriod.objects.select_related("framework").order_by("-deadline"))
    period = None
    raw = request.GET.get("period", "")
    if raw.isdigit():
        period = next((p for p in periods if p.pk == int(raw)), None)
    items = _lead_items(submission_list(user=request.user)).filter(state=S.APPROVED)
    if period is None:
        # The council decides at year end: it lands on the latest annual round that has approved
        # items (not on January's empty new quarter), else on the current period.
        decided = set(
            items.filter(period__quarter__isnull=True).values_list("period_id", flat=True)
        )
        period = next((p for p in periods if p.pk in decided), None) or current_period()
    qs = items.filter(period=period).order_by("indicator__sort_key", "agency__name")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    for sub in page.object_list:
        basis = sub.final_points if sub.final_points is not None else sub.appraised_points
        sub.final_initial = _points_str(basis)  # type: ignore[attr-defined]
        # A refused row comes back with what was typed and its errors (review_action keeps them).
        sub.typed = recall_form(request, f"review:{sub.pk}:final")  # type: ignore[attr-defined]
    return render(
        request,
        "evidence/review/council.html",
        {"periods": periods, "period": period, "page": page},
    )


# --- history tab ------------------------------------------------------------------------------


@require_GET
def submission_history_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Every transition and change of a submission the user can see (404 outside scope)."""
    sub = submission_get(user=request.user, pk=pk)
    return render(
        request,
        "evidence/review/history.html",
        {"sub": sub, "history": submission_history(submission=sub)},
    )
