"""Reporting periods (reviewers): open, extend, close, and per-item extensions."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from dti_portal.errors import DomainError, ValidationFailed

from .. import selectors, services
from ..services.values import NumberError, parse_number
from ._common import _parse_date, _rid

# --- periods (reviewers) ---------------------------------------------------------------------


def _new_deadline(request: HttpRequest) -> datetime.date:
    deadline = _parse_date(request.POST.get("deadline", ""))
    if deadline is None:
        raise ValidationFailed(_("Hãy chọn hạn mới."))
    return deadline


def _create_fields(request: HttpRequest) -> dict[str, Any]:
    """The "open a period" form's framework, year and quarter; field errors (Vietnamese) in a
    ``ValidationFailed`` when one cannot be read. The year is read by the portal's number
    reader, so a year shown with a thousands separator by an older page (2.026) still works."""
    from indicators.models import Framework

    errors: dict[str, list[str]] = {}
    framework_pk = _int_or_none(request.POST.get("framework"))
    framework = Framework.objects.filter(pk=framework_pk).first() if framework_pk else None
    if framework is None:
        errors["framework"] = [_("Hãy chọn bộ chỉ số.")]
    year: int | None = None
    try:
        number = parse_number(request.POST.get("year", ""))
        if number == number.to_integral_value():
            year = int(number)
    except NumberError:
        pass
    if year is None:
        errors["year"] = [_("Năm phải là một số nguyên, ví dụ 2026.")]
    quarter_text = (request.POST.get("quarter") or "").strip()
    quarter = _int_or_none(quarter_text)
    if quarter_text and quarter not in (1, 2, 3, 4):
        errors["quarter"] = [_("Quý phải từ 1 đến 4 (để trống cho kỳ cả năm).")]
    if errors:
        raise ValidationFailed(_("Dữ liệu kỳ báo cáo không hợp lệ."), errors=errors)
    return {"framework": framework, "year": year, "quarter": quarter}


def _int_or_none(text: Any) -> int | None:
    text = str(text or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def period_manage(request: HttpRequest) -> HttpResponse:
    """Sở KH&CN: open quarters and annual rounds, move deadlines, close/reopen, and reopen one
    item for one agency (every action audited by the services)."""
    import datetime

    from django.core.exceptions import PermissionDenied

    from agencies.models import Agency
    from indicators.models import Framework, Indicator

    if not getattr(request.user, "is_reviewer", False):
        raise PermissionDenied
    if request.method == "GET" and request.GET.get("part") == "agencies":
        return _item_agencies(request)
    actor: Any = request.user
    status = 200
    create_errors: dict[str, Any] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            with services.audit_context(request):
                if action == "create":
                    services.period_create(
                        actor=actor,
                        **_create_fields(request),
                        deadline=_parse_date(request.POST.get("deadline", "")),
                        request_id=_rid(request),
                    )
                    messages.success(request, _("Đã mở kỳ báo cáo."))
                else:
                    period = selectors.period_get(user=actor, pk=request.POST.get("period"))
                    if action == "extend":
                        deadline = _new_deadline(request)
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
                        deadline = _new_deadline(request)
                        indicator = Indicator.objects.get(
                            pk=request.POST.get("indicator", ""), framework=period.framework
                        )
                        agency = Agency.objects.get(pk=request.POST.get("agency", ""))
                        services.item_extension_grant(
                            actor=actor,
                            period=period,
                            indicator=indicator,
                            agency=agency,
                            deadline=deadline,
                            reason=request.POST.get("reason", ""),
                            request_id=_rid(request),
                        )
                        messages.success(request, _("Đã mở lại chỉ số cho cơ quan."))
                        lead_item = (
                            selectors.lead_item_already_sent(indicator=indicator, period=period)
                            if agency.pk != indicator.lead_agency_id
                            else None
                        )
                        if lead_item is not None:
                            messages.warning(
                                request,
                                _(
                                    "Lưu ý: cơ quan chủ trì đã gửi chỉ số này (trạng thái "
                                    "“%(state)s”). Phần phối hợp gửi lại chỉ được tổng hợp khi "
                                    "báo cáo của cơ quan chủ trì được trả lại hoặc mở lại."
                                )
                                % {"state": lead_item.get_state_display()},  # type: ignore[attr-defined]
                            )
                    else:
                        raise ValidationFailed(_("Thao tác không hợp lệ."))
            return redirect("evidence:period_manage")
        except (ValueError, Framework.DoesNotExist, Indicator.DoesNotExist, Agency.DoesNotExist):
            messages.error(request, _("Dữ liệu không hợp lệ."))
            status = 400
        except DomainError as exc:
            if action == "create" and exc.errors:
                # Shown on the fields themselves (the form keeps what was typed).
                create_errors = {k: " ".join(map(str, v)) for k, v in exc.errors.items()}
                messages.error(request, exc.message)
            else:
                detail = "; ".join(str(m) for msgs in exc.errors.values() for m in msgs)
                messages.error(request, f"{exc.message} {detail}".strip())
            status = exc.status_code
    periods = list(
        selectors.period_list(user=actor).prefetch_related(
            "extensions__agency", "extensions__indicator"
        )
    )
    today = services.today_vn()
    return render(
        request,
        "evidence/reporting/periods.html",
        {
            # (period, locked, locked by its deadline): a period past its deadline is reopened
            # by a new deadline (``period_extend``) or item by item, never by "Mở lại" alone.
            "periods": [
                (p, services.period_is_locked(p, today=today), today > p.deadline) for p in periods
            ],
            "frameworks": Framework.objects.filter(status=Framework.Status.PUBLISHED),
            "agencies": Agency.objects.filter(is_active=True).order_by("name"),
            "indicators": Indicator.objects.filter(level=Indicator.Level.SUB)
            .select_related("framework")
            .order_by("framework__code", "sort_key"),
            "this_year": datetime.date.today().year,
            "today": today,
            "create_errors": create_errors,
            "posted": request.POST if create_errors else {},
        },
        status=status,
    )


def _item_agencies(request: HttpRequest) -> HttpResponse:
    """htmx (``?part=agencies&indicator=<pk>``), for "reopen one item for one agency": the
    ``<option>``s of the agencies assigned to the chosen indicator (its lead, then its
    coordinating agencies, groups expanded). The service refuses any other agency; without JS
    the form lists every agency."""
    from indicators.models import Indicator

    pk = _int_or_none(request.GET.get("indicator"))
    indicator = (
        Indicator.objects.filter(pk=pk, level=Indicator.Level.SUB)
        .select_related("lead_agency")
        .first()
        if pk is not None
        else None
    )
    if indicator is None:  # nothing (or nothing valid) chosen yet: ask for the indicator
        return render(request, "evidence/reporting/_item_agencies.html", {"no_indicator": True})
    return render(
        request,
        "evidence/reporting/_item_agencies.html",
        {"lead": indicator.lead_agency, "coordinators": selectors.coordinators_of(indicator)},
    )
