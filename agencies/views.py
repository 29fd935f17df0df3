"""Agency directory pages (search ignoring diacritics) and the accounts export."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from dti_portal.errors import NotFound, ValidationFailed

from . import selectors
from .accounts_io import export_accounts_xlsx
from .models import Agency
from .services import agency_alias_add, agency_create, audit, user_deactivate


@login_required
def agency_list(request: HttpRequest) -> HttpResponse:
    create_error = ""
    if request.method == "POST":
        if not request.user.has_perm("agencies.manage_accounts"):
            raise PermissionDenied
        kind = request.POST.get("new_kind", "")
        try:
            agency = agency_create(
                actor=request.user,  # type: ignore[arg-type]
                name=request.POST.get("new_name", ""),
                short_name=request.POST.get("new_short_name", "").strip(),
                kind=kind if kind in Agency.Kind.values else Agency.Kind.OTHER,
                request_id=getattr(request, "request_id", ""),
            )
        except ValidationFailed as exc:
            create_error = " ".join(str(m) for msgs in exc.errors.values() for m in msgs)
        else:
            messages.success(request, _("Đã thêm cơ quan %(n)s.") % {"n": agency.name})
            return redirect("agencies:agency_detail", pk=agency.pk)
    q = request.GET.get("q", "").strip()
    kind = request.GET.get("kind", "")
    qs = selectors.agency_search(user=request.user, q=q, kind=kind)  # type: ignore[arg-type]
    page = Paginator(qs.prefetch_related("aliases"), 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": q,
        "kind": kind,
        "kinds": Agency.Kind.choices,
        "groups": selectors.group_list(user=request.user),  # type: ignore[arg-type]
        "can_manage": request.user.has_perm("agencies.manage_accounts"),
        "create_error": create_error,
    }
    template = "agencies/_agency_rows.html" if request.htmx else "agencies/agency_list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@login_required
def agency_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        agency = selectors.agency_get(user=request.user, pk=pk)  # type: ignore[arg-type]
    except NotFound as exc:
        raise Http404 from exc
    alias_error = ""
    if request.method == "POST":
        if not request.user.has_perm("agencies.manage_accounts"):
            raise PermissionDenied
        if request.POST.get("action") == "deactivate":
            return _deactivate_account(request, agency)
        try:
            agency_alias_add(
                actor=request.user,  # type: ignore[arg-type]
                agency=agency,
                alias=request.POST.get("alias", ""),
                request_id=getattr(request, "request_id", ""),
            )
        except ValidationFailed as exc:
            alias_error = " ".join(str(m) for msgs in exc.errors.values() for m in msgs)
        else:
            messages.success(request, _("Đã thêm tên gọi khác."))
            return redirect("agencies:agency_detail", pk=agency.pk)
    groups = [g for g in selectors.group_list(user=request.user) if g.covers(agency)]  # type: ignore[arg-type]
    can_manage = request.user.has_perm("agencies.manage_accounts")
    accounts = (
        selectors.account_list(user=request.user).filter(agency=agency)  # type: ignore[arg-type]
        if can_manage
        else []
    )
    return render(
        request,
        "agencies/agency_detail.html",
        {
            "agency": agency,
            "groups": groups,
            "accounts": accounts,
            "can_manage": can_manage,
            "alias_error": alias_error,
        },
    )


def _deactivate_account(request: HttpRequest, agency: Agency) -> HttpResponse:
    """Deactivates one of the agency's accounts (ends its sessions and tokens)."""
    target = (
        selectors.account_list(user=request.user)  # type: ignore[arg-type]
        .filter(agency=agency, pk=request.POST.get("user") or 0)
        .first()
    )
    if target is None:
        raise Http404
    if target.pk == request.user.pk:
        messages.error(request, _("Không thể tự khóa tài khoản của chính mình."))
    else:
        user_deactivate(
            actor=request.user,  # type: ignore[arg-type]
            user=target,
            request_id=getattr(request, "request_id", ""),
        )
        messages.success(
            request,
            _("Đã khóa tài khoản %(u)s và kết thúc mọi phiên đăng nhập của tài khoản này.")
            % {"u": target.username},
        )
    return redirect("agencies:agency_detail", pk=agency.pk)


@login_required
def accounts_export(request: HttpRequest) -> HttpResponse:
    """Who has which account (reviewers and admins), as .xlsx; audited."""
    if not request.user.has_perm("agencies.manage_accounts"):
        raise PermissionDenied
    users = list(selectors.account_list(user=request.user))  # type: ignore[arg-type]
    audit(
        actor=request.user,  # type: ignore[arg-type]
        action="accounts.export",
        data={"count": len(users)},
        request_id=getattr(request, "request_id", ""),
    )
    response = HttpResponse(
        export_accounts_xlsx(users),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="tai-khoan.xlsx"'
    return response
