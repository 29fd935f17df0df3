"""Export retention: jobs (rows and files) deleted EXPORT_RETENTION_DAYS after they were asked
for; leftover directories without a job removed; the command runs both janitors."""

from __future__ import annotations

import datetime
import os
import time
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from agencies.models import AuditEvent
from scoring.exports import services
from scoring.exports.models import ExportJob
from scoring.exports.tasks import expire_exports

from .dash_helpers import q

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.FILE_UPLOAD_TEMP_DIR = None
    return Path(settings.MEDIA_ROOT)


def _job(world, user, *, days_old: float, state=ExportJob.State.DONE) -> ExportJob:
    job = ExportJob.objects.create(
        kind=ExportJob.Kind.EVIDENCE,
        framework=world.framework,
        period=world.period,
        requested_by=user,
        state=state,
    )
    job.file.save("pack.zip", ContentFile(b"z" * 100), save=True)
    ExportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=days_old)
    )
    return job


def test_expired_jobs_and_files_deleted_recent_kept(
    world, reviewer, media_root, django_capture_on_commit_callbacks
):
    old = _job(world, reviewer, days_old=8)
    lost = _job(world, reviewer, days_old=30, state=ExportJob.State.RUNNING)  # a lost task
    recent = _job(world, reviewer, days_old=2)
    with django_capture_on_commit_callbacks(execute=True):
        report = services.export_jobs_expire()
    assert sorted(report.jobs) == sorted([str(old.pk), str(lost.pk)])
    assert report.files == 2 and report.bytes == 200
    assert list(ExportJob.objects.all()) == [recent]
    assert not (media_root / "exports" / str(old.pk)).exists()
    assert not (media_root / "exports" / str(lost.pk)).exists()
    assert Path(recent.file.path).exists()
    event = AuditEvent.objects.get(action="export.expired")
    assert event.actor is None and event.data["count"] == 2 and event.data["retention_days"] == 7


def test_leftover_directory_without_a_job(
    world, reviewer, media_root, django_capture_on_commit_callbacks
):
    stale = media_root / "exports" / "0b7e0d3c-0000-4000-8000-000000000000"
    stale.mkdir(parents=True)
    (stale / "x.zip").write_bytes(b"1234")
    t = time.time() - 9 * 86400
    os.utime(stale, (t, t))
    fresh = media_root / "exports" / "being-written"
    fresh.mkdir()
    report = services.export_jobs_expire(dry_run=True)
    assert report.jobs == [] and report.files == 1 and report.bytes == 4 and stale.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.export_jobs_expire()
    assert not stale.exists() and fresh.exists()


def test_retention_setting_task_and_dry_run(world, reviewer, settings):
    settings.EXPORT_RETENTION_DAYS = 1
    job = _job(world, reviewer, days_old=2)
    assert services.export_jobs_expire(dry_run=True).jobs == [str(job.pk)]
    assert ExportJob.objects.filter(pk=job.pk).exists() and not AuditEvent.objects.exists()
    assert expire_exports() == {"jobs": 1, "files": 1, "bytes": 100}
    assert expire_exports() == {"jobs": 0, "files": 0, "bytes": 0}  # idempotent


def test_expired_download_answers_404(world, reviewer, client_as):
    job = _job(world, reviewer, days_old=8)
    services.export_jobs_expire()
    assert (
        client_as(reviewer).get(reverse("scoring:export_download", args=[job.pk])).status_code
        == 404
    )


def test_status_page_left_open_stops_polling_once_its_job_expired(world, reviewer, client_as):
    """A status page left open past the retention polls a job the janitor deleted: the poll
    answers 286 (htmx stops polling) with a notice in place of the progress bar, instead of a
    404 htmx ignores while it keeps polling; a direct request is still a 404."""
    job = _job(world, reviewer, days_old=8, state=ExportJob.State.RUNNING)
    url = reverse("scoring:export_job", args=[job.pk])
    client = client_as(reviewer)
    polled = client.get(url, headers={"HX-Request": "true"})
    assert polled.status_code == 200 and 'hx-trigger="every 2s"' in polled.content.decode()
    services.export_jobs_expire()
    gone = client.get(url, headers={"HX-Request": "true"})
    assert gone.status_code == 286
    body = gone.content.decode()
    assert 'id="export-job"' in body and "hx-get" not in body and "hx-trigger" not in body
    assert "Tệp xuất này đã hết hạn hoặc không còn tồn tại." in body
    assert f'href="{reverse("scoring:exports")}"' in body
    assert client.get(url).status_code == 404


def test_polling_another_users_job_looks_like_polling_a_missing_one(
    world, reviewer, leader, client_as
):
    """The poll's notice reveals nothing a 404 does not: someone else's live job and a job that
    never existed get the same answer; a direct request for either is a 404."""
    job = _job(world, reviewer, days_old=1, state=ExportJob.State.RUNNING)
    theirs = reverse("scoring:export_job", args=[job.pk])
    missing = reverse("scoring:export_job", args=[uuid.uuid4()])
    client = client_as(leader)
    assert client.get(theirs).status_code == client.get(missing).status_code == 404
    a = client.get(theirs, headers={"HX-Request": "true"})
    b = client.get(missing, headers={"HX-Request": "true"})
    assert a.status_code == b.status_code == 286 and a.content == b.content
    assert str(job.pk) not in a.content.decode()


def test_exports_page_states_the_retention(world, reviewer, client_as, settings):
    settings.EXPORT_RETENTION_DAYS = 14
    page = client_as(reviewer).get(reverse("scoring:exports") + q(world)).content.decode()
    assert "được lưu 14 ngày, sau đó tự động xóa" in page


def test_cleanup_media_command(world, reviewer, media_root, django_capture_on_commit_callbacks):
    _job(world, reviewer, days_old=8)
    orphan = media_root / "evidence" / "99" / "99" / "old"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"abc")
    t = time.time() - 3 * 86400
    os.utime(orphan, (t, t))
    out = StringIO()
    call_command("cleanup_media", "--dry-run", stdout=out)
    assert "Sẽ xóa 1 yêu cầu xuất dữ liệu" in out.getvalue() and orphan.exists()
    assert "evidence/99/99/old" in out.getvalue()
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("cleanup_media", stdout=out)
    assert "Đã xóa 1 yêu cầu xuất dữ liệu" in out.getvalue()
    assert "Đã xóa 1 tệp không còn thuộc báo cáo nào" in out.getvalue()
    assert not orphan.exists() and not ExportJob.objects.exists()


def test_janitors_are_scheduled():
    from dti_portal.celery import app

    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"scoring.exports.tasks.expire_exports", "evidence.tasks.remove_orphan_files"} <= tasks


def test_cleanup_media_command_stops_on_a_misconfiguration(world, media_root):
    for i in range(30):
        path = media_root / "evidence" / "77" / "7" / f"f{i}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        t = time.time() - 3 * 86400
        os.utime(path, (t, t))
    out, err = StringIO(), StringIO()
    call_command("cleanup_media", stdout=out, stderr=err)
    assert "Dừng lại: 30 trong" in err.getvalue() and "--force" in err.getvalue()
    assert len(list((media_root / "evidence" / "77" / "7").iterdir())) == 30
    call_command("cleanup_media", "--force", stdout=StringIO())
    assert not list((media_root / "evidence" / "77" / "7").iterdir())


def test_a_job_expired_while_its_file_is_being_written(
    world, reviewer, media_root, monkeypatch, django_capture_on_commit_callbacks
):
    """A queued export that runs only after its retention (a broker outage, a long backlog) is
    expired by the nightly janitor while it renders: the task ends as for a missing job instead
    of failing on the vanished row, and the file it had just written goes with the job instead
    of staying behind, a copy of evidence nobody can download, until the leftover sweep."""
    job = ExportJob.objects.create(
        kind=ExportJob.Kind.EXCEL,
        framework=world.framework,
        period=world.period,
        requested_by=reviewer,
    )
    ExportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=8)
    )

    def render_while_expired(*, out, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            services.export_jobs_expire()
        out.write(b"PK\x03\x04 export")

    monkeypatch.setattr(services, "render_export", render_while_expired)
    assert services.export_job_run(job_id=str(job.pk)) is None
    assert not ExportJob.objects.filter(pk=job.pk).exists()
    assert not (media_root / "exports" / str(job.pk)).exists()


def test_jobs_deleted_by_a_concurrent_run_are_not_audited_twice(
    world, reviewer, media_root, monkeypatch, django_capture_on_commit_callbacks
):
    """Another run (the nightly task and a manual ``cleanup_media`` at once) deletes the listed
    jobs before this one locks them: this run deletes and audits nothing."""
    job = _job(world, reviewer, days_old=8)
    real_scandir = os.scandir

    def other_run_deletes_first(path):
        ExportJob.objects.filter(pk=job.pk).delete()  # between the listing and the lock
        return real_scandir(path)

    monkeypatch.setattr(services.os, "scandir", other_run_deletes_first)
    with django_capture_on_commit_callbacks(execute=True):
        report = services.export_jobs_expire()
    assert report.jobs == [] and not AuditEvent.objects.filter(action="export.expired").exists()
