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
from ._common import _parse_date, _rid

# --- periods (reviewers) ---------------------------------------------------------------------


def _new_deadline(request: HttpRequest) -> datetime.date:
    deadline = _parse_date(request.POST.get("deadline", ""))
    if deadline is None:
        raise ValidationFailed(_("Hãy chọn hạn mới."))
    return deadline


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
