"""The administrators' audit log: submission transitions and AuditEvents, filtered, exported.

Read-only by construction: no route changes or deletes audit rows; an export only appends its
own event (through the audit service).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import rules
from django import forms
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from agencies.models import Agency, User
from agencies.services import audit
from dti_portal.spreadsheet import append_row, csv_row

from ..history import (
    AuditFilters,
    AuditLogPages,
    AuditNames,
    action_label,
    audit_actions,
    audit_log,
    audit_rows,
)
from ..services.audit import audit_context

EXPORT_LIMIT = 200_000


class AuditFilterForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.order_by("username"),
        required=False,
        label=gettext_lazy("Người thực hiện"),
        empty_label=gettext_lazy("Tất cả"),
    )
    agency = forms.ModelChoiceField(
        queryset=Agency.objects.order_by("name"),
        required=False,
        label=gettext_lazy("Cơ quan"),
        empty_label=gettext_lazy("Tất cả"),
    )
    date_from = forms.DateField(
        required=False,
        label=gettext_lazy("Từ ngày"),
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"placeholder": "dd/mm/yyyy"}),
    )
    date_to = forms.DateField(
        required=False,
        label=gettext_lazy("Đến ngày"),
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"placeholder": "dd/mm/yyyy"}),
    )
    action = forms.ChoiceField(required=False, label=gettext_lazy("Thao tác"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        action = self.fields["action"]
        assert isinstance(action, forms.ChoiceField)
        action.choices = [
            ("", _("Tất cả")),
            *sorted(((a, action_label(a)) for a in audit_actions()), key=lambda c: c[1]),
        ]

    def filters(self) -> AuditFilters:
        d = self.cleaned_data
        return AuditFilters(
            user=d.get("user"),
            agency=d.get("agency"),
            date_from=d.get("date_from"),
            date_to=d.get("date_to"),
            action=d.get("action") or "",
        )


def _form(request: HttpRequest) -> AuditFilterForm:
    if not rules.has_perm("evidence.view_audit_log", request.user):
        raise PermissionDenied
    return AuditFilterForm(request.GET or None)


@require_GET
def audit_log_page(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    filters = form.filters() if form.is_bound and form.is_valid() else AuditFilters()
    # AuditLogPages serves what Paginator uses (count, slices), not the whole sequence protocol.
    log: Any = AuditLogPages(filters)
    page = Paginator(log, 50).get_page(request.GET.get("page"))
    rows = audit_rows(list(page.object_list))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "evidence/review/audit_log.html",
        {"form": form, "page": page, "rows": rows, "query": query.urlencode()},
    )


HEADERS = [
    gettext_lazy("Thời điểm"),
    gettext_lazy("Nguồn"),
    gettext_lazy("Người thực hiện"),
    gettext_lazy("Vai trò"),
    gettext_lazy("Cơ quan"),
    gettext_lazy("Thao tác"),
    gettext_lazy("Đối tượng"),
    gettext_lazy("Chi tiết"),
    gettext_lazy("Mã yêu cầu"),
]


def _export_rows(filters: AuditFilters) -> Iterator[list[str]]:
    qs = audit_log(filters=filters)[:EXPORT_LIMIT]
    names = AuditNames()  # shared by the batches: each name is read once per export
    batch: list[dict[str, Any]] = []
    for row in qs.iterator(chunk_size=2000):
        batch.append(row)
        if len(batch) == 2000:
            yield from _format(batch, names)
            batch = []
    if batch:
        yield from _format(batch, names)


def _format(batch: list[dict[str, Any]], names: AuditNames) -> Iterator[list[str]]:
    for r in audit_rows(batch, names):
        yield [
            timezone.localtime(r.at).strftime("%d/%m/%Y %H:%M:%S"),
            r.source,
            r.actor,
            r.actor_role,
            r.agency,
            r.action,
            r.object,
            r.detail,
            r.request_id,
        ]


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
def audit_log_export(request: HttpRequest) -> HttpResponseBase:
    """The filtered log as CSV (UTF-8 with BOM, for Excel) or XLSX; the export is itself audited.

    Text typed by users (names, reasons, object names) is written so that no spreadsheet reads
    it as a formula (:mod:`dti_portal.spreadsheet`)."""
    form = _form(request)
    filters = form.filters() if form.is_bound and form.is_valid() else AuditFilters()
    fmt = request.GET.get("format", "csv")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    with audit_context(request):
        audit(
            actor=request.user,  # type: ignore[arg-type]
            action="audit_export",
            data={
                "format": fmt,
                "user": filters.user.pk if filters.user else None,
                "agency": filters.agency.pk if filters.agency else None,
                "date_from": filters.date_from.isoformat() if filters.date_from else None,
                "date_to": filters.date_to.isoformat() if filters.date_to else None,
                "action": filters.action,
            },
        )
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(str(_("Nhật ký")))
        ws.append([str(h) for h in HEADERS])
        for line in _export_rows(filters):
            append_row(ws, line)  # actors' names, details and reasons are typed by users
        buf = io.BytesIO()
        wb.save(buf)
        resp = HttpResponse(
            buf.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        resp["Content-Disposition"] = content_disposition_header(True, f"nhat-ky-{stamp}.xlsx")
        return resp
    writer = csv.writer(_Echo())

    def stream() -> Iterator[str]:
        yield "\ufeff" + writer.writerow([str(h) for h in HEADERS])
        for line in _export_rows(filters):
            yield writer.writerow(csv_row(line))  # user-typed text: never a formula

    resp2 = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    resp2["Content-Disposition"] = content_disposition_header(True, f"nhat-ky-{stamp}.csv")
    return resp2
