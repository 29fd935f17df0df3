"""Export pages: ask for an export, follow its progress, download it (requester only)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseStopPolling
from django_sendfile import sendfile

from dti_portal.errors import ValidationFailed

from ..dashboards.views import _base_context, _selection, domain_errors
from . import selectors, services
from .models import ExportJob


@domain_errors
@require_http_methods(["GET", "POST"])
def exports(request: HttpRequest) -> HttpResponse:
    """Lists the caller's exports; POST asks for a new one (small ones are made at once)."""
    fw, period, query = _selection(request)
    error = ""
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        try:
            job = services.export_job_request(
                user=request.user,
                kind=kind,
                framework=fw,
                period=period,
                request_id=getattr(request, "request_id", ""),
            )
        except ValidationFailed as exc:
            error = exc.message
        else:
            return redirect(reverse("scoring:export_job", args=[job.pk]))
    jobs = list(selectors.export_job_list(user=request.user)[:20])
    return render(
        request,
        "scoring/exports.html",
        {
            **_base_context(request, fw, period, query),
            "jobs": jobs,
            "kinds": ExportJob.Kind.choices,
            "error": error,
            "province_scope": getattr(request.user, "sees_province", False),
            "sync_max": settings.EXPORT_SYNC_MAX_FILES,
            "sync_max_agencies": settings.EXPORT_SYNC_MAX_AGENCIES,
            "retention_days": settings.EXPORT_RETENTION_DAYS,
        },
        status=400 if error else 200,
    )


@require_GET
def export_job(request: HttpRequest, job_id: Any) -> HttpResponse:
    """The job's state and progress; htmx polls the partial until it is finished."""
    polled = bool(request.headers.get("HX-Request"))
    try:
        job = selectors.export_job_get(user=request.user, pk=job_id)
    except Http404:
        if not polled:
            raise
        # A page left open past the retention polls a job the nightly janitor deleted: a 404
        # is not swapped by htmx, so the page would poll every 2 s for ever and still show the
        # progress bar. 286 makes htmx stop polling and swap in the notice. Deleted, never
        # existed and someone else's job get the same answer, so this reveals nothing more
        # than the 404 a direct request still gets.
        return HttpResponseStopPolling(
            render_to_string("scoring/_export_job_gone.html", request=request)
        )
    ctx = {"job": job}
    if polled:
        return render(request, "scoring/_export_job.html", ctx)
    return render(request, "scoring/export_job.html", ctx)


@require_GET
def export_download(request: HttpRequest, job_id: Any) -> HttpResponse:
    job = selectors.export_job_get(user=request.user, pk=job_id)
    if job.state != ExportJob.State.DONE or not job.file:
        raise Http404
    services.export_job_downloaded(
        job=job, user=request.user, request_id=getattr(request, "request_id", "")
    )
    return sendfile(
        request,
        job.file.path,
        attachment=True,
        attachment_filename=job.file_name or None,
    )
