"""The janitor of orphan files: stored files no row points at, and stale temporary uploads,
removed once older than the grace period; referenced, recent and linked files never."""

from __future__ import annotations

import datetime
import os
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from agencies.models import AuditEvent
from evidence import services
from evidence.models import EvidenceFile
from evidence.tasks import remove_orphan_files
from tests.evidence.reporting_factories import make_world, pdf_bytes

pytestmark = pytest.mark.django_db
DAY = 24 * 3600


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    os.makedirs(settings.FILE_UPLOAD_TEMP_DIR)
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def stored(agency_a, agency_b, user_a):
    """One evidence file with its row (as an upload leaves it)."""
    w = make_world(agency_a, agency_b)
    sub = services.submission_create(
        actor=user_a, indicator=w.ratio, period=w.period, values={"numerator": "1"}
    )
    return services.evidence_add_file(
        submission=sub, actor=user_a, upload=SimpleUploadedFile("a.pdf", pdf_bytes())
    )


def _file(path: Path, *, age: float, content: bytes = b"x" * 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    t = time.time() - age
    os.utime(path, (t, t))
    return path


def test_old_orphan_removed_referenced_and_recent_kept(stored, media_root):
    ref = Path(stored.file.path)
    os.utime(ref, (time.time() - 9 * DAY,) * 2)  # old, but a row points at it
    orphan = _file(media_root / "evidence" / "7" / "3" / "deadbeef", age=2 * DAY)
    fresh = _file(media_root / "evidence" / "7" / "3" / "cafe", age=60)  # an upload in flight
    report = services.evidence_orphans_remove()
    assert report.removed == ["evidence/7/3/deadbeef"] and report.bytes == 10
    assert report.kept_recent == 1
    assert not orphan.exists() and ref.exists() and fresh.exists()
    event = AuditEvent.objects.get(action="evidence.orphans_removed")
    assert event.actor is None and event.data["count"] == 1
    assert event.data["files"] == ["evidence/7/3/deadbeef"]


def test_dry_run_lists_and_removes_nothing(media_root):
    orphan = _file(media_root / "evidence" / "1" / "1" / "ab", age=2 * DAY)
    report = services.evidence_orphans_remove(dry_run=True)
    assert report.removed == ["evidence/1/1/ab"] and orphan.exists()
    assert not AuditEvent.objects.exists()


def test_stale_temporary_uploads_removed_others_in_the_directory_kept(settings):
    tmp = Path(settings.FILE_UPLOAD_TEMP_DIR)
    stale = _file(tmp / "tmpab12cd.upload.pdf", age=2 * DAY)
    current = _file(tmp / "tmpzz99yy.upload.pdf", age=5)
    other = _file(tmp / "notes.txt", age=30 * DAY)  # not Django's: never touched
    report = services.evidence_orphans_remove()
    assert report.removed == ["tmpab12cd.upload.pdf (tạm)"]
    assert not stale.exists() and current.exists() and other.exists()


def test_links_are_neither_followed_nor_removed(media_root, tmp_path):
    outside = _file(tmp_path / "outside" / "secret", age=9 * DAY)
    (media_root / "evidence" / "2").mkdir(parents=True)
    (media_root / "evidence" / "2" / "link").symlink_to(outside)
    (media_root / "evidence" / "2" / "dirlink").symlink_to(outside.parent)
    report = services.evidence_orphans_remove()
    assert report.removed == [] and outside.exists()
    assert (media_root / "evidence" / "2" / "link").is_symlink()


def test_grace_setting_and_idempotent_task(settings, media_root):
    settings.MEDIA_ORPHAN_GRACE_HOURS = 1
    _file(media_root / "evidence" / "5" / "5" / "x1", age=2 * 3600)
    assert remove_orphan_files() == {"removed": 1, "bytes": 10, "kept_recent": 0}
    assert remove_orphan_files() == {"removed": 0, "bytes": 0, "kept_recent": 0}
    assert AuditEvent.objects.filter(action="evidence.orphans_removed").count() == 1


def test_a_removed_evidence_whose_delete_never_ran_is_collected(stored, media_root):
    """The row is gone (a removal committed) but its on-commit file delete did not run (the
    worker died): the file is collected once past the grace."""
    path = Path(stored.file.path)
    EvidenceFile.objects.filter(pk=stored.pk).delete()
    report = services.evidence_orphans_remove(now=time.time() + 2 * DAY)
    assert report.removed == [stored.file.name] and not path.exists()


def test_the_audit_log_names_the_action(client_as, admin_user, media_root):
    _file(media_root / "evidence" / "9" / "9" / "old", age=2 * DAY)
    services.evidence_orphans_remove(grace=datetime.timedelta(hours=1))
    page = client_as(admin_user).get("/reporting/audit/")
    assert "Dọn tệp không còn thuộc báo cáo nào" in page.content.decode()


def test_too_many_orphans_is_a_misconfiguration_not_a_cleanup(stored, media_root, caplog):
    """A database that is not this media directory's makes every file look unreferenced: above
    the safety limit nothing is removed (an error is logged) unless forced."""
    for i in range(25):
        _file(media_root / "evidence" / "8" / "8" / f"f{i:02}", age=3 * 86400)
    report = services.evidence_orphans_remove()
    assert report.refused == 25 and report.removed == [] and report.stored == 26
    assert len(list((media_root / "evidence" / "8" / "8").iterdir())) == 25
    assert not AuditEvent.objects.filter(action="evidence.orphans_removed").exists()
    assert "refusing to remove them" in caplog.text
    assert remove_orphan_files()["refused"] == 25
    forced = services.evidence_orphans_remove(force=True)
    assert len(forced.removed) == 25 and Path(stored.file.path).exists()


def test_a_few_orphans_among_many_files_are_removed(stored, media_root):
    for i in range(21):
        _file(media_root / "evidence" / "8" / "8" / f"f{i:02}", age=60)  # recent: stored ones
    for i in range(3):
        _file(media_root / "evidence" / "8" / "9" / f"o{i}", age=3 * 86400)
    report = services.evidence_orphans_remove()
    assert report.refused == 0 and len(report.removed) == 3


def test_a_file_that_cannot_be_removed_does_not_hide_the_removals_from_the_audit(
    media_root, monkeypatch, caplog
):
    """One orphan the worker may not remove (a directory a restore run as root left behind, a
    read-only mount) is logged and skipped: the others are still removed, and every removal
    that happened is audited (an exception out of the loop would have skipped the audit row)."""
    from evidence.services import storage_cleanup

    removable = _file(media_root / "evidence" / "1" / "1" / "gone", age=2 * DAY)
    stuck = _file(media_root / "evidence" / "1" / "2" / "stuck", age=2 * DAY)
    real_remove = os.remove

    def remove(path, *args, **kwargs):
        if str(path) == str(stuck):
            raise PermissionError(13, "Permission denied", str(path))
        real_remove(path, *args, **kwargs)

    monkeypatch.setattr(storage_cleanup.os, "remove", remove)
    report = services.evidence_orphans_remove()
    assert report.removed == ["evidence/1/1/gone"] and not removable.exists() and stuck.exists()
    assert report.failed == ["evidence/1/2/stuck"]
    event = AuditEvent.objects.get(action="evidence.orphans_removed")
    assert event.data["files"] == ["evidence/1/1/gone"] and event.data["failed"] == 1
    assert "evidence/1/2/stuck" in caplog.text
