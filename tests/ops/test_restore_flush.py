"""Restore flushes the media files it copies back (fast): the restored database names them, so
after the restore reports success a crash must not leave rows pointing at empty files."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest
from django.db import connection

import dti_portal.storage

ROOT = Path(__file__).resolve().parents[2]
FILES = {
    "media/evidence/1/2/bien-ban.pdf": b"%PDF-1.7 bien ban",
    "media/evidence/1/3/ke-hoach.docx": b"PK\x03\x04 ke hoach",
    "media/evidence/1/3/anh.png": b"\x89PNG anh",
}


@pytest.fixture
def backup_script():
    """scripts/backup.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("backup_script", ROOT / "scripts" / "backup.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _backup_dir(path: Path, engine: str) -> Path:
    """A backup as ``backup`` writes it, with a database file the test never loads."""
    files = {**FILES, "db.dump": b"not loaded"}
    for rel, data in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
    manifest = {
        "format": 1,
        "engine": engine,
        "database_file": "db.dump",
        "files": {
            rel: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for rel, data in files.items()
        },
    }
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


@pytest.mark.django_db
def test_restore_flushes_every_media_file_and_its_directories(
    backup_script, tmp_path, settings, monkeypatch
):
    engine = "postgresql" if connection.vendor == "postgresql" else "sqlite"
    source = _backup_dir(tmp_path / "backup", engine)
    media_root = tmp_path / "restored-media"  # absent: the restore creates it
    settings.MEDIA_ROOT = str(media_root)
    # Only the media step is under test: the database stays the test's own (Django is set up,
    # the dump is not loaded, the test's connection and transaction stay open).
    loaded = []
    monkeypatch.setattr(backup_script, "_setup_django", lambda: None)
    monkeypatch.setattr(backup_script, "_restore_sqlite", lambda db, path: loaded.append(path))
    monkeypatch.setattr(backup_script, "_restore_postgres", lambda db, path: loaded.append(path))
    monkeypatch.setattr(connection, "close", lambda: None)

    flushed: list[tuple[Path, bool, bytes | None]] = []
    real_fsync_path = dti_portal.storage.fsync_path

    def recording_fsync_path(path, *, directory=False):
        # The bytes as they are when flushed: the copy must be complete by then.
        flushed.append((Path(path), directory, None if directory else Path(path).read_bytes()))
        real_fsync_path(path, directory=directory)

    monkeypatch.setattr(dti_portal.storage, "fsync_path", recording_fsync_path)
    backup_script.restore(source)

    assert loaded == [source / "db.dump"]
    files = [(path, data) for path, directory, data in flushed if not directory]
    assert sorted(files) == sorted(
        (media_root / rel.removeprefix("media/"), data) for rel, data in FILES.items()
    )
    directories = [path for path, directory, _ in flushed if directory]
    # Each directory once: those holding the files, and the parent of every directory the
    # restore created (down from the media root itself).
    evidence = media_root / "evidence"
    assert sorted(directories) == sorted(
        [evidence / "1" / "2", evidence / "1" / "3", evidence / "1", evidence, media_root, tmp_path]
    )
    # Directories after every file: one flushed before its newest entry was made would not
    # make that entry durable.
    assert [directory for _, directory, _ in flushed] == [False] * len(FILES) + [True] * 6
