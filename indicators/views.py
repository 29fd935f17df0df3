"""Framework pages: browser (tree), history, import with dry-run preview and agency mapping,
versions side by side with the crosswalk, "my indicators", editing a draft's sub-indicator."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agencies.models import Agency, AgencyGroup
from agencies.services import audit
from agencies.spreadsheets import MAX_UPLOAD_BYTES
from dti_portal.errors import Conflict, DomainError, NotFound

from . import selectors, services
from .forms import CrosswalkForm, FrameworkImportForm, IndicatorEditForm
from .importer import export_framework_xlsx
from .models import Framework, Indicator

SESSION_KEY = "framework_imports"


def _manager_required(request: HttpRequest) -> None:
    if not request.user.has_perm("indicators.manage_framework"):
        raise PermissionDenied


def _framework(request: HttpRequest, pk: int) -> Framework:
    try:
        return selectors.framework_get(user=request.user, pk=pk)  # type: ignore[arg-type]
    except NotFound as exc:
        raise Http404 from exc


def _rid(request: HttpRequest) -> str:
    return getattr(request, "request_id", "")


@login_required
def framework_list(request: HttpRequest) -> HttpResponse:
    frameworks = selectors.framework_list(user=request.user)  # type: ignore[arg-type]
    return render(
        request,
        "indicators/framework_list.html",
        {
            "frameworks": frameworks,
            "can_manage": request.user.has_perm("indicators.manage_framework"),
        },
    )


@login_required
def framework_detail(request: HttpRequest, pk: int) -> HttpResponse:
    fw = _framework(request, pk)
    roots = selectors.framework_tree(framework=fw)
    can_manage = request.user.has_perm("indicators.manage_framework")
    return render(
        request,
        "indicators/framework_detail.html",
        {
            "framework": fw,
            "roots": roots,
            "can_manage": can_manage,
            "problems": services.framework_problems(fw)
            if can_manage and fw.status == Framework.Status.DRAFT
            else [],
            "unassigned": selectors.subs_without_lead(framework=fw)
            if can_manage and fw.status == Framework.Status.DRAFT
            else [],
            "tab": "tree",
        },
    )


@login_required
def framework_history(request: HttpRequest, pk: int) -> HttpResponse:
    fw = _framework(request, pk)
    fw_history = fw.history.select_related("history_user").order_by("-history_date")[:100]  # type: ignore[attr-defined]
    ind_history = (
        Indicator.history.filter(framework_id=fw.pk)  # type: ignore[attr-defined]
        .select_related("history_user")
        .order_by("-history_date")[:200]
    )
    return render(
        request,
        "indicators/framework_history.html",
        {"framework": fw, "fw_history": fw_history, "ind_history": ind_history, "tab": "history"},
    )


@login_required
def framework_export(request: HttpRequest, pk: int) -> HttpResponse:
    fw = _framework(request, pk)
    audit(
        actor=request.user,  # type: ignore[arg-type]
        action="framework.export",
        obj=fw,
        request_id=_rid(request),
    )
    response = HttpResponse(
        export_framework_xlsx(fw),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = content_disposition_header(True, f"{fw.code}.xlsx")
    return response


def _lifecycle(request: HttpRequest, pk: int, fn: Any, ok: str) -> HttpResponse:
    _manager_required(request)
    fw = _framework(request, pk)
    try:
        result = fn(actor=request.user, framework=fw, request_id=_rid(request))
    except DomainError as exc:
        problems = exc.errors.get("framework", []) if exc.errors else []
        messages.error(request, " ".join([exc.message or _("Không thực hiện được."), *problems]))
        return redirect("indicators:framework_detail", pk=fw.pk)
    messages.success(request, ok)
    return redirect("indicators:framework_detail", pk=result.pk)


@login_required
@require_POST
def framework_publish(request: HttpRequest, pk: int) -> HttpResponse:
    return _lifecycle(request, pk, services.framework_publish, _("Đã ban hành bộ chỉ số."))


@login_required
@require_POST
def framework_archive(request: HttpRequest, pk: int) -> HttpResponse:
    return _lifecycle(request, pk, services.framework_archive, _("Đã lưu trữ bộ chỉ số."))


@login_required
@require_POST
def framework_new_version(request: HttpRequest, pk: int) -> HttpResponse:
    return _lifecycle(
        request,
        pk,
        services.framework_new_version,
        _("Đã tạo phiên bản mới (bản nháp) để chỉnh sửa."),
    )


# --- import -------------------------------------------------------------------------------------


def _sweep_abandoned_uploads(max_age_hours: int = 24) -> None:
    """Deletes uploads left between preview and confirm for more than a day."""
    cutoff = timezone.now() - timedelta(hours=max_age_hours)
    try:
        _dirs, files = default_storage.listdir("imports")
    except (FileNotFoundError, NotImplementedError):
        return
    for name in files:
        path = f"imports/{name}"
        try:
            if default_storage.get_modified_time(path) < cutoff:
                default_storage.delete(path)
        except (FileNotFoundError, NotImplementedError):
            continue


def _pending(request: HttpRequest, token: str) -> dict[str, Any]:
    item = request.session.get(SESSION_KEY, {}).get(token)
    if not item:
        raise Http404
    return item


def _run_import(
    request: HttpRequest, item: dict[str, Any], *, dry_run: bool, mapping: dict[str, str]
) -> tuple[services.ImportReport, bool]:
    with default_storage.open(item["path"], "rb") as fh:
        data = fh.read()
    try:
        report = services.framework_import(
            actor=request.user,  # type: ignore[arg-type]
            data=data,
            code=item["code"],
            year=item["year"],
            name=item["name"],
            unit_type=item.get("unit_type", ""),
            file_name=item["file_name"],
            dry_run=dry_run,
            agency_mapping=mapping,
            request_id=_rid(request),
        )
        return report, True
    except services.ImportFailed as exc:
        return exc.report, False


@login_required
def framework_import(request: HttpRequest) -> HttpResponse:
    """Step 1: upload; the file is kept server-side under a token, then previewed (dry run)."""
    _manager_required(request)
    form = FrameworkImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            form.add_error("file", _("Tệp quá lớn."))
        else:
            _sweep_abandoned_uploads()
            token = uuid.uuid4().hex
            path = default_storage.save(f"imports/{token}.xlsx", ContentFile(upload.read()))
            pending = request.session.get(SESSION_KEY, {})
            pending[token] = {
                "path": path,
                "code": form.cleaned_data["code"],
                "year": form.cleaned_data["year"],
                "name": form.cleaned_data["name"],
                "unit_type": form.cleaned_data["unit_type"],
                "file_name": upload.name,
                "mapping": {},
            }
            request.session[SESSION_KEY] = pending
            return redirect("indicators:framework_import_preview", token=token)
    return render(request, "indicators/import_upload.html", {"form": form})


@login_required
def framework_import_preview(request: HttpRequest, token: str) -> HttpResponse:
    """Step 2: dry-run preview; unknown agencies are mapped to an existing agency or created.
    Step 3 (POST action=confirm): the real import, all-or-nothing."""
    _manager_required(request)
    item = _pending(request, token)
    mapping: dict[str, str] = dict(item.get("mapping") or {})
    if request.method == "POST":
        for key in request.POST:
            value = str(request.POST.get(key, ""))
            if key.startswith("name_"):
                idx = key.split("_", 1)[1]
                choice = request.POST.get(f"map_{idx}", "")
                if choice:
                    mapping[value] = choice
                else:
                    mapping.pop(value, None)
        item["mapping"] = mapping
        pending = request.session.get(SESSION_KEY, {})
        pending[token] = item
        request.session[SESSION_KEY] = pending
        if request.POST.get("action") == "confirm":
            report, ok = _run_import(request, item, dry_run=False, mapping=mapping)
            if ok:
                default_storage.delete(item["path"])
                pending.pop(token, None)
                request.session[SESSION_KEY] = pending
                messages.success(
                    request,
                    _("Đã nhập bộ chỉ số %(code)s (bản nháp). Kiểm tra rồi ban hành.")
                    % {"code": report.code},
                )
                return redirect("indicators:framework_detail", pk=report.framework_id)
            messages.error(request, _("Chưa nhập được: tệp còn lỗi, cơ sở dữ liệu không thay đổi."))
        elif request.POST.get("action") == "cancel":
            default_storage.delete(item["path"])
            pending.pop(token, None)
            request.session[SESSION_KEY] = pending
            messages.info(request, _("Đã hủy nhập tệp."))
            return redirect("indicators:framework_list")
    report, ok = _run_import(request, item, dry_run=True, mapping=mapping)
    agencies = Agency.objects.filter(is_active=True).order_by("name").only("id", "name")
    unknown_errors_only = bool(report.unknown_agencies) and len(report.errors) == 1
    return render(
        request,
        "indicators/import_preview.html",
        {
            "item": item,
            "token": token,
            "report": report,
            "ok": ok,
            "agencies": agencies,
            "kinds": Agency.Kind.choices,
            "mapping": mapping,
            "unknown_errors_only": unknown_errors_only,
        },
    )


# --- versions and crosswalk ----------------------------------------------------------------------


@login_required
def framework_compare(request: HttpRequest) -> HttpResponse:
    frameworks = list(selectors.framework_list(user=request.user))  # type: ignore[arg-type]
    by_id = {str(f.pk): f for f in frameworks}
    left = by_id.get(request.GET.get("left", ""))
    right = by_id.get(request.GET.get("right", ""))
    if left is None and right is not None and right.previous_version_id:
        left = by_id.get(str(right.previous_version_id))
    can_manage = request.user.has_perm("indicators.manage_framework")
    form = None
    if left is not None and right is not None and can_manage:
        form = CrosswalkForm(request.POST or None, left=left, right=right)
        if request.method == "POST" and form.is_valid():
            try:
                services.crosswalk_create(
                    actor=request.user,  # type: ignore[arg-type]
                    source=left,
                    target=right,
                    pairs=[(form.cleaned_data["source_code"], form.cleaned_data["target_code"])],
                    note=form.cleaned_data["note"],
                    request_id=_rid(request),
                )
                messages.success(request, _("Đã thêm ánh xạ mã."))
                return redirect(f"{request.path}?left={left.pk}&right={right.pk}")
            except DomainError as exc:
                form.add_error(None, "; ".join(sum((list(v) for v in exc.errors.values()), [])))
    elif request.method == "POST":
        raise PermissionDenied
    rows = selectors.compare_versions(left=left, right=right) if left and right else []
    return render(
        request,
        "indicators/compare.html",
        {
            "frameworks": frameworks,
            "left": left,
            "right": right,
            "rows": rows,
            "form": form,
        },
    )


# --- my indicators -------------------------------------------------------------------------------


@login_required
def my_indicators(request: HttpRequest) -> HttpResponse:
    frameworks = list(
        selectors.framework_list(user=request.user).filter(status=Framework.Status.PUBLISHED)  # type: ignore[arg-type]
    )
    chosen = request.GET.get("framework")
    fw = next((f for f in frameworks if str(f.pk) == chosen), None) or selectors.current_framework(
        user=request.user  # type: ignore[arg-type]
    )
    mine = selectors.my_indicators(user=request.user, framework=fw)  # type: ignore[arg-type]
    return render(
        request,
        "indicators/my_indicators.html",
        {"frameworks": frameworks, "framework": fw, "mine": mine},
    )


# --- editing a draft -----------------------------------------------------------------------------


@login_required
def indicator_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _manager_required(request)
    try:
        ind = selectors.indicator_get(user=request.user, pk=pk)  # type: ignore[arg-type]
    except NotFound as exc:
        raise Http404 from exc
    if ind.framework.status != Framework.Status.DRAFT:
        messages.warning(
            request,
            _(
                "Bộ chỉ số đã ban hành thì không sửa được; hãy tạo phiên bản mới (bản nháp) để "
                "chỉnh sửa."
            ),
        )
        return redirect("indicators:framework_detail", pk=ind.framework_id)
    form = IndicatorEditForm(request.POST or None, instance_indicator=ind)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.indicator_update(
                actor=request.user,  # type: ignore[arg-type]
                indicator=ind,
                changes={
                    "name": data["name"],
                    "max_points": data["max_points"],
                    "scoring_method": data["scoring_method"],
                    "evidence_guidance": data["evidence_guidance"],
                    "is_ministry_measured": data["is_ministry_measured"],
                    "lead_agency": data["lead_agency"],
                    **(
                        {"scoring_rule": data["scoring_rule"]}
                        if ind.level == Indicator.Level.SUB
                        else {}
                    ),
                },
                coordinating_agencies=list(data["coordinating_agencies"]),
                coordinating_groups=list(data["coordinating_groups"]),
                measures=data.get("measures"),
                seen_updated_at=data.get("seen_updated_at"),
                request_id=_rid(request),
            )
            messages.success(request, _("Đã lưu chỉ số %(code)s.") % {"code": ind.code})
            return redirect("indicators:framework_detail", pk=ind.framework_id)
        except DomainError as exc:
            for field, errs in (exc.errors or {}).items():
                form.add_error(field if field in form.fields else None, errs)
            if exc.message:
                form.add_error(None, exc.message)
            if isinstance(exc, Conflict):
                status = exc.status_code  # a stale page: 409, like a stale report
    return render(
        request,
        "indicators/indicator_edit.html",
        {"form": form, "indicator": ind, "framework": ind.framework},
        status=status,
    )


# --- assigning agencies in bulk ------------------------------------------------------------------


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit() and len(v) < 10]


@login_required
def framework_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Every sub-indicator of a draft on one page: its lead agency and its coordinating agencies
    and groups (an appendix without agency columns leaves them all to assign)."""
    _manager_required(request)
    fw = _framework(request, pk)
    if fw.status != Framework.Status.DRAFT:
        messages.warning(
            request,
            _(
                "Bộ chỉ số đã ban hành thì không sửa được; hãy tạo phiên bản mới (bản nháp) để "
                "chỉnh sửa."
            ),
        )
        return redirect("indicators:framework_detail", pk=fw.pk)
    subs = list(selectors.sub_indicators_with_assignments(framework=fw))
    # Active agencies, and those already assigned even if no longer active: a choice the form
    # does not offer would be dropped from every sub-indicator on save.
    assigned = {s.lead_agency_id for s in subs if s.lead_agency_id} | {
        a.pk for s in subs for a in s.coordinating_agencies.all()
    }
    agencies = list(Agency.objects.filter(Q(is_active=True) | Q(pk__in=assigned)).order_by("name"))
    groups = list(AgencyGroup.objects.order_by("name"))
    if request.method == "POST":
        by_id = {a.pk: a for a in agencies}
        groups_by_id = {g.pk: g for g in groups}
        lead_ids = {s.pk: _ids([request.POST.get(f"lead_{s.pk}", "")]) for s in subs}
        assignments = [
            services.Assignment(
                indicator_id=s.pk,
                lead_agency=next((by_id[i] for i in lead_ids[s.pk] if i in by_id), None),
                coordinating_agencies=[
                    by_id[i] for i in _ids(request.POST.getlist(f"coord_{s.pk}")) if i in by_id
                ],
                coordinating_groups=[
                    groups_by_id[i]
                    for i in _ids(request.POST.getlist(f"groups_{s.pk}"))
                    if i in groups_by_id
                ],
            )
            for s in subs
        ]
        try:
            changed = services.framework_assign(
                actor=request.user,  # type: ignore[arg-type]
                framework=fw,
                assignments=assignments,
                request_id=_rid(request),
            )
        except DomainError as exc:
            messages.error(request, exc.message or _("Không thực hiện được."))
        else:
            messages.success(
                request,
                _("Đã lưu phân công của %(n)s chỉ số thành phần.") % {"n": len(changed)},
            )
            return redirect("indicators:framework_detail", pk=fw.pk)
    return render(
        request,
        "indicators/framework_assign.html",
        {
            "framework": fw,
            "rows": [
                {
                    "indicator": s,
                    "coord_ids": {a.pk for a in s.coordinating_agencies.all()},
                    "group_ids": {g.pk for g in s.coordinating_groups.all()},
                }
                for s in subs
            ],
            "agencies": agencies,
            "groups": groups,
            "tab": "assign",
        },
    )
