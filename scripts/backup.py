#!/usr/bin/env python
"""Backup and restore drill: the database and the evidence files, consistent, with a manifest.

    python scripts/backup.py backup DIR     # make backup [BACKUP_DIR=...]
    python scripts/backup.py restore DIR    # make restore BACKUP_DIR=...
    python scripts/backup.py verify DIR     # check the manifest hashes only

The target database and media root are the ones the settings point at (``DATABASE_URL``,
``MEDIA_ROOT``).

Consistency: PostgreSQL is dumped by ``pg_dump`` from a snapshot exported by this script
(``pg_export_snapshot``), and the list of evidence files the database refers to is read in that
same snapshot; SQLite is copied with the online backup API and the list is read from the copy.
Evidence files are immutable (random names, never rewritten), so copying every referenced file
after the snapshot gives a backup in which every file the database names is present: the script
fails if one is missing. ``manifest.json`` records the SHA-256 of every file in the backup; restore
verifies it before touching anything, then checks each restored evidence file against the
``sha256`` stored in its database row.

Access: the backup directory is 0700 and every file in it 0600 (the database dump holds password
hashes, TOTP secrets, unused MFA backup codes and every agency's data); restored media files get the portal's own modes
(``FILE_UPLOAD_PERMISSIONS`` / ``FILE_UPLOAD_DIRECTORY_PERMISSIONS``), which nginx needs, and are
flushed to disk (each file and its directory entries) before the restore reports success.

Exports (``media/exports/``) are not backed up: they are derived data, regenerated on request,
and an evidence pack would store the evidence twice. Restore marks every export job whose file is
not on the target media root (or that was still pending or running) as failed, so its owner asks
for it again instead of getting a 404 for a job shown as done.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MANIFEST = "manifest.json"
FORMAT = 1
EVIDENCE_TABLE = "evidence_evidencefile"
EXPORT_TABLE = "scoring_exportjob"
#: Private: the dump holds password hashes, TOTP secrets and unused MFA backup codes.
BACKUP_DIR_MODE, BACKUP_FILE_MODE = 0o700, 0o600


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dti_portal.settings")
    import django

    django.setup()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            h.update(chunk)
    return h.hexdigest()


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"{name} is not installed (PostgreSQL client tools are needed).")
    return path


def _pg_connect(db: dict[str, Any], dbname: str | None = None) -> Any:
    import psycopg2

    return psycopg2.connect(
        dbname=dbname or db["NAME"],
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
    )


def _pg_env(db: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return env


def _pg_args(db: dict[str, Any]) -> list[str]:
    args = []
    if db.get("HOST"):
        args += ["-h", str(db["HOST"])]
    if db.get("PORT"):
        args += ["-p", str(db["PORT"])]
    if db.get("USER"):
        args += ["-U", str(db["USER"])]
    return args


def _is_postgres(db: dict[str, Any]) -> bool:
    return str(db["ENGINE"]).endswith("postgresql")


def _referenced_from_rows(rows: list[tuple[str, str]]) -> dict[str, str]:
    """{relative file path: sha256 stored in the database} for evidence files."""
    return {name: sha for name, sha in rows if name}


def _backup_postgres(db: dict[str, Any], out: Path) -> dict[str, str]:
    conn = _pg_connect(db)
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
            cur.execute(f"SELECT file, sha256 FROM {EVIDENCE_TABLE} WHERE file <> ''")  # noqa: S608
            referenced = _referenced_from_rows(cur.fetchall())
            subprocess.run(  # noqa: S603 - fixed argv, no shell
                [
                    _tool("pg_dump"),
                    *_pg_args(db),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    "-f",
                    str(out / "db.dump"),
                    db["NAME"],
                ],
                check=True,
                env=_pg_env(db),
            )
    finally:
        conn.close()
    return referenced


def _backup_sqlite(db: dict[str, Any], out: Path) -> dict[str, str]:
    src = sqlite3.connect(str(db["NAME"]))
    dst = sqlite3.connect(str(out / "db.sqlite3"))
    try:
        src.backup(dst)  # online, consistent copy even while the portal writes
        rows = dst.execute(f"SELECT file, sha256 FROM {EVIDENCE_TABLE} WHERE file <> ''").fetchall()  # noqa: S608
    finally:
        dst.close()
        src.close()
    return _referenced_from_rows(rows)


def backup(target: Path) -> dict[str, Any]:
    # Everything created from here on (directories, pg_dump's and SQLite's files) is private;
    # the modes are also set explicitly below, whatever the umask did.
    previous_umask = os.umask(0o077)
    try:
        return _backup(target)
    finally:
        os.umask(previous_umask)


def _backup(target: Path) -> dict[str, Any]:
    _setup_django()
    from django.conf import settings

    t0 = time.monotonic()
    db = settings.DATABASES["default"]
    media_root = Path(settings.MEDIA_ROOT)
    target.mkdir(parents=True, exist_ok=True)
    if (target / MANIFEST).exists():
        raise SystemExit(f"{target} already holds a backup; choose an empty directory.")
    target.chmod(BACKUP_DIR_MODE)
    if _is_postgres(db):
        referenced = _backup_postgres(db, target)
        db_file = "db.dump"
    else:
        referenced = _backup_sqlite(db, target)
        db_file = "db.sqlite3"

    media_out = target / "media"
    files: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for rel, db_sha in sorted(referenced.items()):
        src = media_root / rel
        if not src.is_file():
            missing.append(rel)
            continue
        dst = media_out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        dst.chmod(BACKUP_FILE_MODE)  # copy2 copied the stored file's 0640
        digest = sha256_file(dst)
        files[f"media/{rel}"] = {"size": dst.stat().st_size, "sha256": digest}
        if db_sha and db_sha != digest:
            missing.append(f"{rel} (hash differs from the database)")
    if missing:
        raise SystemExit(
            "Backup refused: evidence files named by the database are missing or damaged:\n  "
            + "\n  ".join(missing)
        )
    (target / db_file).chmod(BACKUP_FILE_MODE)
    files[db_file] = {
        "size": (target / db_file).stat().st_size,
        "sha256": sha256_file(target / db_file),
    }
    manifest = {
        "format": FORMAT,
        "created_at": datetime.datetime.now(tz=datetime.UTC).isoformat(),
        "engine": "postgresql" if _is_postgres(db) else "sqlite",
        "database_file": db_file,
        "evidence_files": len(referenced),
        "files": files,
        "seconds": round(time.monotonic() - t0, 3),
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    (target / MANIFEST).chmod(BACKUP_FILE_MODE)
    return manifest


def verify(source: Path) -> dict[str, Any]:
    manifest = json.loads((source / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise SystemExit(f"Unknown backup format {manifest.get('format')!r}.")
    bad = [
        rel
        for rel, meta in manifest["files"].items()
        if not (source / rel).is_file() or sha256_file(source / rel) != meta["sha256"]
    ]
    if bad:
        raise SystemExit("Backup damaged (hash mismatch or missing):\n  " + "\n  ".join(bad))
    return manifest


def _restore_postgres(db: dict[str, Any], dump: Path) -> None:
    env = _pg_env(db)
    from psycopg2 import sql

    admin = _pg_connect(db, "postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
    finally:
        admin.close()
    subprocess.run(  # noqa: S603
        [
            _tool("pg_restore"),
            *_pg_args(db),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "-d",
            db["NAME"],
            str(dump),
        ],
        check=True,
        env=env,
    )


def _restore_sqlite(db: dict[str, Any], copy: Path) -> None:
    src = sqlite3.connect(str(copy))
    dst = sqlite3.connect(str(db["NAME"]))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _makedirs(path: Path, mode: int | None) -> list[Path]:
    """``path`` and its missing parents, new ones with ``mode`` (as the storage makes them);
    returns the directories it created, deepest first."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
        if mode is not None:
            directory.chmod(mode)
    return missing


def _restore_media(
    *,
    source: Path,
    names: list[str],
    media_root: Path,
    directory_mode: int | None,
    file_mode: int | None,
) -> None:
    """Copies the backup's media files (``media/...`` in the manifest) under ``media_root`` and
    flushes them to disk, as the storage flushes an upload: the database restored just before
    names every one of them, so a crash after the restore reported success must not leave rows
    pointing at empty files or at names that never reached the disk.
    """
    from dti_portal import storage

    directories: set[Path] = set()
    for rel in names:
        if not rel.startswith("media/"):
            continue
        dst = media_root / rel.removeprefix("media/")
        created = _makedirs(dst.parent, directory_mode)
        shutil.copy2(source / rel, dst)
        if file_mode is not None:
            dst.chmod(file_mode)
        storage.fsync_path(str(dst))
        # Each directory once, however many files it got: its entry for every file, and each
        # new directory's entry in its parent.
        directories.add(dst.parent)
        directories.update(directory.parent for directory in created)
    for directory in sorted(directories, key=lambda d: len(d.parts), reverse=True):
        storage.fsync_path(str(directory), directory=True)


def _fail_missing_exports(cursor: Any, media_root: Path) -> int:
    """Export jobs with no file on this media root (exports are not backed up), or pending or
    running (their Celery message is gone), become failed: asked for again, never a 404."""
    cursor.execute(f"SELECT id, state, file FROM {EXPORT_TABLE} WHERE state <> 'failed'")  # noqa: S608
    stale = [
        pk
        for pk, state, name in cursor.fetchall()
        if state != "done" or not name or not (media_root / name).is_file()
    ]
    for pk in stale:
        cursor.execute(
            f"UPDATE {EXPORT_TABLE} SET state = 'failed', error = %s WHERE id = %s",  # noqa: S608
            ["Restored from a backup, which holds no export files: ask for the export again.", pk],
        )
    return len(stale)


def restore(source: Path) -> dict[str, Any]:
    t0 = time.monotonic()
    manifest = verify(source)
    _setup_django()
    from django.conf import settings
    from django.db import connection

    db = settings.DATABASES["default"]
    engine = "postgresql" if _is_postgres(db) else "sqlite"
    if engine != manifest["engine"]:
        raise SystemExit(f"Backup is {manifest['engine']}, the target database is {engine}.")
    connection.close()
    if engine == "postgresql":
        _restore_postgres(db, source / manifest["database_file"])
    else:
        _restore_sqlite(db, source / manifest["database_file"])

    media_root = Path(settings.MEDIA_ROOT)
    # The backup's files are 0600; restored ones get the modes the storage gives (nginx reads
    # evidence through the group, see the Dockerfile).
    _restore_media(
        source=source,
        names=list(manifest["files"]),
        media_root=media_root,
        directory_mode=settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS,
        file_mode=settings.FILE_UPLOAD_PERMISSIONS,
    )

    # Every evidence row of the restored database points at a file with the recorded hash.
    with connection.cursor() as cur:
        cur.execute(f"SELECT file, sha256 FROM {EVIDENCE_TABLE} WHERE file <> ''")  # noqa: S608
        rows = cur.fetchall()
        exports_failed = (
            _fail_missing_exports(cur, media_root)
            if EXPORT_TABLE in connection.introspection.table_names(cur)
            else 0
        )
    bad = [
        name
        for name, sha in rows
        if not (media_root / name).is_file() or (sha and sha256_file(media_root / name) != sha)
    ]
    if bad:
        raise SystemExit("Restored evidence does not match the database:\n  " + "\n  ".join(bad))
    return {
        "evidence_checked": len(rows),
        "exports_failed": exports_failed,
        "seconds": round(time.monotonic() - t0, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["backup", "restore", "verify"])
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    if args.action == "backup":
        m = backup(args.directory)
        print(
            f"Backup written to {args.directory}: {m['engine']} database, "
            f"{m['evidence_files']} evidence files, {len(m['files'])} files hashed, {m['seconds']} s."
        )
    elif args.action == "verify":
        m = verify(args.directory)
        print(f"Backup {args.directory} is intact: {len(m['files'])} files match the manifest.")
    else:
        r = restore(args.directory)
        print(
            f"Restored {args.directory}: {r['evidence_checked']} evidence files match the "
            f"database hashes; {r['exports_failed']} export jobs without their file marked "
            f"failed (exports are not backed up); {r['seconds']} s."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
