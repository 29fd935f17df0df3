"""Export writes: create a job, render it (as the requesting user, in their scope), audit."""

from __future__ import annotations

import datetime
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from agencies.models import Agency
from agencies.services import audit
from dti_portal.errors import NotAllowed, ValidationFailed
from evidence.models import ReportingPeriod
from indicators.models import Framework

from ..dashboards import selectors as sel
from .models import ExportJob

Progress = Callable[[int, int], None]
logger = logging.getLogger(__name__)


def _audit(*, actor: Any, action: str, job: ExportJob, request_id: str = "") -> None:
    audit(
        actor=actor,
        action=action,
        obj=job,
        data={"kind": job.kind, "framework": job.framework.code, "period": job.period_id},
        request_id=request_id,
    )


def export_file_name(job: ExportJob) -> str:
    period = (
        f"{job.period.year}-Q{job.period.quarter}"
        if job.period and job.period.quarter
        else (f"{job.period.year}-ca-nam" if job.period else "")
    )
    ext = {"excel": "xlsx", "pdf": "pdf", "evidence": "zip"}[job.kind]
    label = {"excel": "bang-diem", "pdf": "bao-cao-tom-tat", "evidence": "tai-lieu-kiem-chung"}[
        job.kind
    ]
    return f"DTI_{job.framework.code}_{period}_{label}.{ext}"


def is_small(*, user: Any, kind: str, framework: Framework, period: ReportingPeriod) -> bool:
    """Made inside the request, or queued: Excel always in the request; a PDF summary unless it
    lists a province-wide league of more than EXPORT_SYNC_MAX_AGENCIES active agencies (agency
    staff's PDF has their own row only); an evidence pack up to EXPORT_SYNC_MAX_FILES files."""
    if kind == ExportJob.Kind.PDF:
        if not getattr(user, "sees_province", False):
            return True
        return Agency.objects.filter(is_active=True).count() <= settings.EXPORT_SYNC_MAX_AGENCIES
    if kind != ExportJob.Kind.EVIDENCE:
        return True
    from .evidence_pack import approved_evidence

    count = approved_evidence(user=user, framework=framework, period=period).count()
    return count <= settings.EXPORT_SYNC_MAX_FILES


@transaction.atomic
def export_job_create(
    *,
    user: Any,
    kind: str,
    framework: Framework,
    period: ReportingPeriod | None,
    request_id: str = "",
    enqueue: bool = True,
) -> ExportJob:
    """Records an export request and enqueues its generation after commit."""
    if kind not in ExportJob.Kind.values:
        raise ValidationFailed(_("Loại xuất không hợp lệ."), errors={"kind": [_("Không hợp lệ.")]})
    if period is None:
        raise ValidationFailed(_("Chọn kỳ báo cáo để xuất."), errors={"period": [_("Bắt buộc.")]})
    if period.framework_id != framework.pk:
        raise ValidationFailed(
            _("Kỳ báo cáo không thuộc bộ chỉ số."), errors={"period": [_("Không hợp lệ.")]}
        )
    if not user.is_authenticated:
        raise NotAllowed(_("Bạn cần đăng nhập."))
    job = ExportJob.objects.create(kind=kind, framework=framework, period=period, requested_by=user)
    _audit(actor=user, action="export.requested", job=job, request_id=request_id)
    if enqueue:
        from .tasks import run_export

        run_export.delay_on_commit(str(job.pk))  # type: ignore[attr-defined]
    return job


def export_job_request(
    *,
    user: Any,
    kind: str,
    framework: Framework,
    period: ReportingPeriod | None,
    request_id: str = "",
) -> ExportJob:
    """An export asked for on the exports page: a small one (``is_small``) is made at once, in
    the request, so the page can offer it straight away; a larger one is queued after commit."""
    job = export_job_create(
        user=user,
        kind=kind,
        framework=framework,
        period=period,
        request_id=request_id,
        enqueue=False,
    )
    assert period is not None  # export_job_create refuses an export without a period
    if is_small(user=user, kind=kind, framework=framework, period=period):
        return export_job_run(job_id=str(job.pk)) or job
    from .tasks import run_export

    run_export.delay_on_commit(str(job.pk))  # type: ignore[attr-defined]
    return job


def render_export(
    *,
    user: Any,
    kind: str,
    framework: Framework,
    period: ReportingPeriod,
    out: Any,
    progress: Progress | None = None,
) -> None:
    """Writes the export of ``kind`` for ``user``'s scope to the binary file ``out``."""
    with translation.override(settings.LANGUAGE_CODE):
        if kind == ExportJob.Kind.EVIDENCE:
            from .evidence_pack import build_evidence_pack

            build_evidence_pack(
                out, user=user, framework=framework, period=period, progress=progress
            )
            return
        league = sel.league_table(user=user, framework=framework, period=period)
        if progress:
            progress(1, 3)
        if kind == ExportJob.Kind.EXCEL:
            from .excel import build_workbook
            from .reported import approved_values

            table = sel.score_table(user=user, framework=framework, period=period)
            reported = approved_values(
                user=user, framework=framework, period=period, snapshots=table.snapshots
            )
            if progress:
                progress(2, 3)
            out.write(build_workbook(table, league["rows"], reported))
        else:
            from .pdf import render_summary_pdf

            dash = sel.dashboard(user=user, framework=framework, period=period)
            if progress:
                progress(2, 3)
            out.write(render_summary_pdf(dash, league))
        if progress:
            progress(3, 3)


def export_job_run(*, job_id: str) -> ExportJob | None:
    """Generates the job's file (idempotent: a finished job is left alone)."""
    job = (
        ExportJob.objects.select_related("framework", "period", "requested_by__agency")
        .filter(pk=job_id)
        .first()
    )
    if job is None or job.state == ExportJob.State.DONE:
        return job
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportJob.State.RUNNING, started_at=timezone.now(), progress=0, error=""
    )

    def progress(done: int, total: int) -> None:
        pct = min(99, int(done * 100 / total)) if total else 99
        ExportJob.objects.filter(pk=job.pk).update(progress=pct)

    assert job.period is not None
    try:
        with tempfile.TemporaryFile() as tmp:
            render_export(
                user=job.requested_by,
                kind=job.kind,
                framework=job.framework,
                period=job.period,
                out=tmp,
                progress=progress,
            )
            size = tmp.tell()
            tmp.seek(0)
            name = export_file_name(job)
            if job.file:
                job.file.delete(save=False)
            job.file.save(name, File(tmp, name=name), save=False)
    except OSError:
        # Transient (disk, storage): the task retries; the job stays "running" meanwhile.
        raise
    except Exception as exc:
        logger.exception("Export %s failed", job.pk)
        failed = ExportJob.objects.filter(pk=job.pk).update(
            state=ExportJob.State.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        if not failed:
            return None  # expired meanwhile (export_jobs_expire)
        job.refresh_from_db()
        return job
    done = ExportJob.objects.filter(pk=job.pk).update(
        state=ExportJob.State.DONE,
        progress=100,
        file=job.file.name,
        file_name=name,
        size=size,
        finished_at=timezone.now(),
    )
    if not done:
        # The job expired while its file was written (a task that ran past the retention): the
        # row is gone, so is the file, rather than a copy of evidence left for the sweep.
        logger.info("Export %s expired while it was generated; its file removed", job.pk)
        _remove_dirs([os.path.dirname(job.file.path)])
        return None
    job.refresh_from_db()
    return job


def export_job_downloaded(*, job: ExportJob, user: Any, request_id: str = "") -> None:
    _audit(actor=user, action="export.downloaded", job=job, request_id=request_id)


@dataclass
class ExpiredExports:
    """What an expiry run deleted (or would delete, in a dry run)."""

    jobs: list[str] = field(default_factory=list)
    files: int = 0
    bytes: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"jobs": len(self.jobs), "files": self.files, "bytes": self.bytes}


def export_retention() -> datetime.timedelta:
    return datetime.timedelta(days=settings.EXPORT_RETENTION_DAYS)


def export_jobs_expire(
    *, now: datetime.datetime | None = None, dry_run: bool = False
) -> ExpiredExports:
    """Deletes the export jobs asked for more than ``EXPORT_RETENTION_DAYS`` ago, with their
    files (an evidence pack copies every approved file: kept forever, they would fill the disk
    and keep copies of evidence an agency has since replaced), then the directories under
    ``exports/`` that no job owns, older than the same retention (a job deleted while its file
    was being written). A job still unfinished after the retention is a lost task: deleted too.
    Audited (one row per run that deleted something; none for a dry run)."""
    now = now or timezone.now()
    cutoff = now - export_retention()
    report = ExpiredExports()
    storage = ExportJob._meta.get_field("file").storage  # type: ignore[attr-defined]
    root = os.path.abspath(storage.path("exports"))  # a file system storage (settings)
    asked = list(ExportJob.objects.order_by().values_list("pk", "created_at"))  # one query
    expired = [pk for pk, at in asked if at < cutoff]
    keep = {str(pk) for pk, at in asked if at >= cutoff}
    expired_names = {str(pk) for pk in expired}
    doomed_dirs = []
    if os.path.isdir(root):
        for entry in os.scandir(root):
            if entry.name in keep or not entry.is_dir(follow_symlinks=False):
                continue
            if entry.name not in expired_names:
                # No job: a leftover, removed once as old as an expired job would be.
                mtime = entry.stat(follow_symlinks=False).st_mtime
                if mtime > cutoff.timestamp():
                    continue
            doomed_dirs.append(entry.path)
    for path in doomed_dirs:
        for dirpath, _dirs, files in os.walk(path):
            for name in files:
                st = os.lstat(os.path.join(dirpath, name))
                report.files += 1
                report.bytes += st.st_size
    report.jobs = [str(pk) for pk in expired]
    if dry_run or not (expired or doomed_dirs):
        return report
    with transaction.atomic():
        # Only the jobs still there once locked: a concurrent run (the nightly task and a manual
        # cleanup_media) that deleted them first has them audited already.
        mine = list(
            ExportJob.objects.select_for_update()
            .filter(pk__in=expired)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        report.jobs = [str(pk) for pk in mine]
        leftovers = [p for p in doomed_dirs if os.path.basename(p) not in expired_names]
        if not (mine or leftovers):
            return report
        ExportJob.objects.filter(pk__in=mine).delete()
        audit(
            actor=None,
            action="export.expired",
            data={
                "jobs": report.jobs[:200],
                "count": len(report.jobs),
                "files": report.files,
                "bytes": report.bytes,
                "retention_days": settings.EXPORT_RETENTION_DAYS,
            },
        )
        # The files go once the rows are gone for good: a rolled-back delete keeps both.
        transaction.on_commit(lambda: _remove_dirs(doomed_dirs))
    return report


def _remove_dirs(paths: list[str]) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)  # gone already: a concurrent run
