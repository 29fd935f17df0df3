"""Files on disk that no row points at: removed after a grace period (the nightly janitor).

A stored evidence file without a row exists only when something failed between the storage and
the database: a worker killed after the file was stored but before its row committed (the row
rolls back, the file stays), or a removal that committed but whose on-commit delete never ran.
A temporary upload stays behind when a worker dies mid-upload. Either is removed once it is
older than the grace period (``MEDIA_ORPHAN_GRACE_HOURS``): an upload in flight stores its file
seconds before its row commits, so a recent file is never touched. Symbolic links are never
followed nor removed.
"""

from __future__ import annotations

import datetime
import fnmatch
import logging
import os
import stat
import time
from dataclasses import dataclass, field

from django.conf import settings

from agencies.services import audit

from ..models import EvidenceFile

logger = logging.getLogger(__name__)

#: Django's temporary uploads: ``NamedTemporaryFile(suffix=".upload" + extension)``.
TEMP_UPLOAD_PATTERN = "tmp*.upload*"
#: How many removed names an audit row lists (the count and bytes are always complete).
AUDIT_NAMES = 200
#: A run that finds more orphans than this many, and more than this share of the stored evidence
#: files, removes nothing unless forced: that is not what crashes leave behind, but what a
#: database that is not this media directory's (a wrong DATABASE_URL, a restore half done)
#: looks like, where every file would seem unreferenced.
SAFETY_MIN_ORPHANS = 20
SAFETY_MAX_SHARE = 0.1


@dataclass
class CleanupReport:
    """What a janitor run removed (or would remove, in a dry run)."""

    removed: list[str] = field(default_factory=list)
    bytes: int = 0
    kept_recent: int = 0
    #: orphans found when the run refused to remove them (the safety limit), else 0
    refused: int = 0
    stored: int = 0
    #: orphans that could not be removed (permissions, a read-only mount): logged, kept
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "removed": len(self.removed),
            "bytes": self.bytes,
            "kept_recent": self.kept_recent,
        }
        if self.refused:
            out["refused"] = self.refused
        if self.failed:
            out["failed"] = len(self.failed)
        return out


def orphan_grace() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.MEDIA_ORPHAN_GRACE_HOURS)


def _old_files(root: str, cutoff: float, report: CleanupReport) -> list[tuple[str, int]]:
    """(path, size) of the regular files under ``root`` last changed before ``cutoff``; the
    recent ones are counted in ``report.kept_recent``."""
    found = []
    for dirpath, _dirs, files in os.walk(root):  # does not follow links to directories
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)  # a link is described, not followed
            except FileNotFoundError:
                continue  # removed meanwhile
            if not stat.S_ISREG(st.st_mode):
                continue
            if st.st_mtime > cutoff:
                report.kept_recent += 1
                continue
            found.append((path, st.st_size))
    return found


def evidence_orphans_remove(
    *,
    grace: datetime.timedelta | None = None,
    dry_run: bool = False,
    force: bool = False,
    now: float | None = None,
) -> CleanupReport:
    """Removes the stored evidence files no ``EvidenceFile`` row points at, and the temporary
    uploads left in ``FILE_UPLOAD_TEMP_DIR``, once older than ``grace``. Audited (one row per
    run that removed something; none for a dry run).

    Refuses (removes nothing, logs an error, ``report.refused`` = the orphans found) when the
    orphans are more than ``SAFETY_MIN_ORPHANS`` and more than ``SAFETY_MAX_SHARE`` of the
    stored evidence files, unless ``force``."""
    grace = orphan_grace() if grace is None else grace
    cutoff = (time.time() if now is None else now) - grace.total_seconds()
    storage = EvidenceFile._meta.get_field("file").storage  # type: ignore[attr-defined]
    location = os.path.abspath(storage.path(""))  # a file system storage (settings)
    report = CleanupReport()
    # Read before the walk: a row committed later names a file stored within the grace (kept)
    # or one another row already names (a reuse), which is in this set.
    referenced = set(
        EvidenceFile.objects.exclude(file="").order_by().values_list("file", flat=True).distinct()
    )
    doomed: list[tuple[str, str, int]] = []
    evidence_root = os.path.join(location, "evidence")
    for path, size in _old_files(evidence_root, cutoff, report):
        report.stored += 1
        name = os.path.relpath(path, location).replace(os.sep, "/")
        if name not in referenced:
            doomed.append((path, name, size))
    report.stored += report.kept_recent
    if (
        not force
        and len(doomed) > SAFETY_MIN_ORPHANS
        and len(doomed) > SAFETY_MAX_SHARE * report.stored
    ):
        report.refused = len(doomed)
        logger.error(
            "Orphan evidence files: %s of %s stored files have no row; refusing to remove them "
            "(is this media directory this database's?). Run cleanup_media --force if intended.",
            len(doomed),
            report.stored,
        )
        return report
    temp_dir = settings.FILE_UPLOAD_TEMP_DIR
    if temp_dir and os.path.isdir(temp_dir):
        for entry in os.scandir(temp_dir):
            if not entry.is_file(follow_symlinks=False):
                continue
            if not fnmatch.fnmatch(entry.name, TEMP_UPLOAD_PATTERN):
                continue
            st = entry.stat(follow_symlinks=False)
            if st.st_mtime > cutoff:
                report.kept_recent += 1
                continue
            doomed.append((entry.path, f"{entry.name} (tạm)", st.st_size))
    for path, name, size in doomed:
        if not dry_run:
            try:
                os.remove(path)
            except FileNotFoundError:
                continue  # removed meanwhile (a concurrent run)
            except OSError as exc:
                # Skipped, not raised: the files removed so far must still reach the audit row.
                logger.error("Orphan file %s not removed: %s", name, exc)
                report.failed.append(name)
                continue
        report.removed.append(name)
        report.bytes += size
    if report.removed and not dry_run:
        audit(
            actor=None,
            action="evidence.orphans_removed",
            data={
                "count": len(report.removed),
                "bytes": report.bytes,
                "files": report.removed[:AUDIT_NAMES],
                "failed": len(report.failed),
            },
        )
    return report
