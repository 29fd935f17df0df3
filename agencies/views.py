"""Agency directory pages (search ignoring diacritics), the accounts page, and the bulk imports
of accounts and of the directory (upload → dry-run preview → confirm) with their exports."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dti_portal.errors import NotFound, ValidationFailed

from . import selectors
from .accounts_io import export_accounts_xlsx, read_account_rows
from .directory import (
    DirectoryImportResult,
    agency_directory_import,
    export_directory_xlsx,
    read_directory_rows,
)
from .forms import AccountFilterForm, TableUploadForm
from .models import Agency, User
from .services import (
    AccountImportResult,
    accounts_import,
    agency_alias_add,
    agency_create,
    audit,
    user_deactivate,
)
from .spreadsheets import SpreadsheetError

RowReader = Callable[[bytes, str], list[dict[str, str]]]
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
        "filter_query": urlencode({"q": q, "kind": kind}),
        "can_manage": request.user.has_perm("agencies.manage_accounts"),
        "create_error": create_error,
        "upload_form": TableUploadForm(),
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
    user_id = str(request.POST.get("user", ""))
    if not (user_id.isascii() and user_id.isdigit()):  # "abc", "²": no account, not a 500
        raise Http404
    target = (
        selectors.account_list(user=request.user)  # type: ignore[arg-type]
        .filter(agency=agency, pk=user_id)
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
    response = HttpResponse(export_accounts_xlsx(users), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, "tai-khoan.xlsx")
    return response


def _manager_required(request: HttpRequest) -> None:
    if not request.user.has_perm("agencies.manage_accounts"):
        raise PermissionDenied


def _rid(request: HttpRequest) -> str:
    return getattr(request, "request_id", "")


# --- accounts page ------------------------------------------------------------------------------


@login_required
@require_GET
def account_list(request: HttpRequest) -> HttpResponse:
    """Every account (reviewers and admins), filtered by agency and role, 50 a page."""
    _manager_required(request)
    filter_form = AccountFilterForm(request.GET)
    filters = filter_form.filters()
    qs = selectors.account_search(
        user=request.user,  # type: ignore[arg-type]
        agency=filters.get("agency"),
        role=filters.get("role") or "",
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    kept = {
        "agency": filters["agency"].pk if filters.get("agency") else "",
        "role": filters.get("role") or "",
    }
    return render(
        request,
        "agencies/account_list.html",
        {
            "page": page,
            "filter_form": filter_form,
            "filter_query": urlencode({k: v for k, v in kept.items() if v}),
            "upload_form": TableUploadForm(),
        },
    )


# --- bulk imports: upload → preview (dry run) → confirm -----------------------------------------
#
# Between the preview and the confirm the uploaded bytes wait in the session (size-bounded by
# ``TableUploadForm``; one pending file per kind, replaced by the next upload), under a random
# token the confirm form must send back. Confirm pops them before anything else, so a reload or a
# double click cannot import twice, and the file (which may hold passwords) does not outlive the
# import. The confirm re-reads and re-checks the file: the database may have changed meanwhile.

PENDING_KEY = "agencies_pending_imports"
ACCOUNTS, DIRECTORY = "accounts", "directory"


def _pending_put(request: HttpRequest, kind: str, data: bytes, name: str) -> str:
    token = secrets.token_urlsafe(24)
    pending = dict(request.session.get(PENDING_KEY) or {})
    pending[kind] = {"token": token, "name": name, "data": base64.b64encode(data).decode()}
    request.session[PENDING_KEY] = pending
    return token


def _pending_drop(request: HttpRequest, kind: str) -> None:
    pending = dict(request.session.get(PENDING_KEY) or {})
    if pending.pop(kind, None) is not None:
        if pending:
            request.session[PENDING_KEY] = pending
        else:
            request.session.pop(PENDING_KEY, None)


def _pending_pop(request: HttpRequest, kind: str, token: str) -> tuple[bytes, str] | None:
    """The file previewed under ``token`` (then forgotten), or None: unknown or stale token."""
    item = (request.session.get(PENDING_KEY) or {}).get(kind)
    if not item or not token:
        return None
    # Compared as bytes: compare_digest refuses non-ASCII text, and the token is posted text.
    if not secrets.compare_digest(str(item["token"]).encode(), token.encode()):
        return None
    _pending_drop(request, kind)
    return base64.b64decode(item["data"]), str(item["name"])


def _run_accounts_import(
    request: HttpRequest, rows: list[dict[str, str]], *, dry_run: bool
) -> AccountImportResult:
    actor: User = request.user  # type: ignore[assignment]
    return accounts_import(actor=actor, rows=rows, dry_run=dry_run, request_id=_rid(request))


def _accounts_result_page(
    request: HttpRequest, result: AccountImportResult, *, token: str, name: str, done: bool
) -> HttpResponse:
    """The preview (``done`` False: nothing written, no password shown) or the result of the
    real import (the generated passwords, this once)."""
    labels = dict(User.Role.choices)
    rows = [
        {
            "row": r.row,
            "username": r.username,
            "action": r.action,
            "role": labels.get(r.role, r.role),
            "agency": r.agency,
            "password_generated": bool(r.generated_password),
            # a dry run's passwords are thrown away: never even handed to the template
            "generated_password": r.generated_password if done else "",
        }
        for r in result.rows
    ]
    return render(
        request,
        "agencies/accounts_import_preview.html",
        {
            "result": result,
            "rows": rows,
            "rows_created": sum(1 for r in rows if r["action"] == "create"),
            "rows_updated": sum(1 for r in rows if r["action"] == "update"),
            "token": token,
            "file_name": name,
            "done": done,
        },
        status=200 if result.ok else 400,
    )


def _upload_step(
    request: HttpRequest, kind: str, read: RowReader
) -> tuple[list[dict[str, str]], bytes, str] | HttpResponse:
    """Step 1 of an import: GET the form; POST the file read as rows (with its bytes and name),
    or the form again with the error on the file. A new upload forgets the pending one."""
    _manager_required(request)
    if request.method != "POST":
        return render(
            request, "agencies/import_upload.html", {"form": TableUploadForm(), "kind": kind}
        )
    _pending_drop(request, kind)
    form = TableUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        data, name = upload.read(), upload.name or ""
        try:
            return read(data, name), data, name
        except SpreadsheetError as exc:
            form.add_error("file", str(exc))
    return render(request, "agencies/import_upload.html", {"form": form, "kind": kind}, status=400)


def _confirm_step(
    request: HttpRequest, kind: str, read: RowReader, *, upload_url: str, cancel_url: str
) -> tuple[list[dict[str, str]], str] | HttpResponse:
    """Step 3: the previewed file's rows and name (forgotten from the session now), or where to
    go when there is nothing to confirm (stale token, already used) or on cancel."""
    _manager_required(request)
    pending = _pending_pop(request, kind, request.POST.get("token", ""))
    if pending is None:
        messages.error(
            request, _("Bản xem trước đã hết hạn hoặc đã được dùng; hãy tải tệp lên lại.")
        )
        return redirect(upload_url)
    if request.POST.get("action") != "confirm":
        messages.info(request, _("Đã hủy nhập tệp; không có gì thay đổi."))
        return redirect(cancel_url)
    data, name = pending
    try:
        return read(data, name), name
    except SpreadsheetError as exc:  # pragma: no cover - the same bytes were read at preview
        messages.error(request, str(exc))
        return redirect(upload_url)


@login_required
def accounts_import_upload(request: HttpRequest) -> HttpResponse:
    """GET: the upload form. POST: the dry run of the uploaded accounts file, nothing written."""
    step = _upload_step(request, ACCOUNTS, read_account_rows)
    if isinstance(step, HttpResponse):
        return step
    rows, data, name = step
    result = _run_accounts_import(request, rows, dry_run=True)
    token = _pending_put(request, ACCOUNTS, data, name) if result.ok else ""
    return _accounts_result_page(request, result, token=token, name=name, done=False)


@never_cache  # the answer holds the generated passwords: no cache may keep it
@login_required
@require_POST
def accounts_import_confirm(request: HttpRequest) -> HttpResponse:
    """The real import of the previewed file (action=confirm) or its cancellation. Generated
    passwords are shown in this response only; they are stored nowhere else."""
    step = _confirm_step(
        request,
        ACCOUNTS,
        read_account_rows,
        upload_url="agencies:accounts_import",
        cancel_url="agencies:account_list",
    )
    if isinstance(step, HttpResponse):
        return step
    rows, name = step
    result = _run_accounts_import(request, rows, dry_run=False)
    return _accounts_result_page(request, result, token="", name=name, done=result.ok)


def _directory_result_page(
    request: HttpRequest, result: DirectoryImportResult, *, token: str, name: str
) -> HttpResponse:
    return render(
        request,
        "agencies/directory_import_preview.html",
        {"result": result, "token": token, "file_name": name},
        status=200 if result.ok else 400,
    )


@login_required
def directory_import_upload(request: HttpRequest) -> HttpResponse:
    """GET: the upload form. POST: the dry run of the uploaded directory file, nothing written."""
    step = _upload_step(request, DIRECTORY, read_directory_rows)
    if isinstance(step, HttpResponse):
        return step
    rows, data, name = step
    result = agency_directory_import(
        actor=request.user,  # type: ignore[arg-type]
        rows=rows,
        dry_run=True,
        request_id=_rid(request),
    )
    token = _pending_put(request, DIRECTORY, data, name) if result.ok else ""
    return _directory_result_page(request, result, token=token, name=name)


@login_required
@require_POST
def directory_import_confirm(request: HttpRequest) -> HttpResponse:
    """The real import of the previewed directory file (action=confirm) or its cancellation."""
    step = _confirm_step(
        request,
        DIRECTORY,
        read_directory_rows,
        upload_url="agencies:directory_import",
        cancel_url="agencies:agency_list",
    )
    if isinstance(step, HttpResponse):
        return step
    rows, name = step
    result = agency_directory_import(
        actor=request.user,  # type: ignore[arg-type]
        rows=rows,
        request_id=_rid(request),
    )
    if not result.ok:
        return _directory_result_page(request, result, token="", name=name)
    messages.success(
        request,
        _(
            "Đã nhập danh mục: %(c)s mục thêm mới, %(u)s mục cập nhật "
            "(trong đó %(r)s cơ quan được kích hoạt lại)."
        )
        % {"c": len(result.created), "u": len(result.updated), "r": len(result.reactivated)},
    )
    return redirect("agencies:agency_list")


@login_required
@require_GET
def directory_export(request: HttpRequest) -> HttpResponse:
    """The directory as its import file (.xlsx), for editing and importing back."""
    _manager_required(request)
    response = HttpResponse(export_directory_xlsx(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, "danh-muc-co-quan.xlsx")
    return response
