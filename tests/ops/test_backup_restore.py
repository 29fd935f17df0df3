"""Backup and restore drill (FT11): back up a live database and its evidence, restore into a
scratch database and media root, and check that approved data and every evidence hash survive.

Runs against SQLite always and against PostgreSQL when DATABASE_URL points at one (CI). Each
database lives in its own scratch name so the drill never touches anyone else's data.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _env(database_url: str, media: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "MEDIA_ROOT": str(media),
            "DTI_TESTING": "1",
            "DJANGO_SETTINGS_MODULE": "dti_portal.settings",
            "CELERY_EAGER": "1",
        }
    )
    env.pop("REDIS_URL", None)
    return env


def _run(args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout


def _drill(tmp_path: Path, src_url: str, dst_url: str) -> dict:
    src_media, dst_media, backup_dir = (
        tmp_path / "media",
        tmp_path / "restored-media",
        tmp_path / "bk",
    )
    src_env, dst_env = _env(src_url, src_media), _env(dst_url, dst_media)
    _run(["manage.py", "migrate", "--noinput", "-v", "0"], src_env)
    before = json.loads(_run(["-m", "tests.ops.drill_data", "build"], src_env).splitlines()[-1])
    assert before["approved"] and len(before["files"]) == 20

    t0 = time.monotonic()
    _run(["scripts/backup.py", "backup", str(backup_dir)], src_env)
    backup_s = time.monotonic() - t0
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert manifest["evidence_files"] == 20
    assert len([k for k in manifest["files"] if k.startswith("media/")]) == 20  # no exports
    # Private: the dump holds password hashes; nobody but the owner reads any of it.
    assert stat.S_IMODE(backup_dir.stat().st_mode) == 0o700
    for path in backup_dir.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path

    # A damaged backup is refused before anything is restored.
    victim = backup_dir / next(k for k in manifest["files"] if k.startswith("media/"))
    original = victim.read_bytes()
    victim.write_bytes(original + b"tampered")
    proc = subprocess.run(
        [sys.executable, "scripts/backup.py", "restore", str(backup_dir)],
        cwd=ROOT,
        env=dst_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode != 0 and "damaged" in (proc.stdout + proc.stderr)
    assert not dst_media.exists()
    victim.write_bytes(original)

    t0 = time.monotonic()
    out = _run(["scripts/backup.py", "restore", str(backup_dir)], dst_env)
    restore_s = time.monotonic() - t0
    assert "20 evidence files match" in out
    after = json.loads(
        _run(["-m", "tests.ops.drill_data", "fingerprint"], dst_env).splitlines()[-1]
    )
    assert after["approved_hash"] == before["approved_hash"]
    assert after["submissions"] == before["submissions"]
    assert after["files"] == before["files"]
    assert all(db_sha == disk_sha for _, db_sha, disk_sha in after["files"])
    # Restored evidence gets the storage's modes back (nginx reads it through the group).
    for name, _, _ in after["files"]:
        assert stat.S_IMODE((dst_media / name).stat().st_mode) == 0o640
        assert stat.S_IMODE((dst_media / name).parent.stat().st_mode) == 0o750
    # The export files were not backed up: the done job (and the pending one, whose task is
    # gone) are failed, not "done" with a download that 404s.
    assert before["exports"] == [["excel", "done"], ["pdf", "pending"]]
    assert after["exports"] == [["excel", "failed"], ["pdf", "failed"]]
    assert "2 export jobs without their file marked failed" in out
    return {
        "backup_s": backup_s,
        "restore_s": restore_s,
        "size": sum(m["size"] for m in manifest["files"].values()),
    }


def test_backup_restore_drill_sqlite(tmp_path):
    src, dst = tmp_path / "src.sqlite3", tmp_path / "restored.sqlite3"
    figures = _drill(tmp_path, f"sqlite:///{src}", f"sqlite:///{dst}")
    print(
        f"DRILL sqlite backup={figures['backup_s']:.2f}s restore={figures['restore_s']:.2f}s bytes={figures['size']}"
    )


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs DATABASE_URL pointing at PostgreSQL",
)
def test_backup_restore_drill_postgres(tmp_path):
    import environ
    import psycopg2

    cfg = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    suffix = uuid.uuid4().hex[:8]
    src_name, dst_name = f"dti_drill_src_{suffix}", f"dti_drill_dst_{suffix}"

    def admin():
        conn = psycopg2.connect(
            dbname="postgres",
            user=cfg.get("USER") or None,
            password=cfg.get("PASSWORD") or None,
            host=cfg.get("HOST") or None,
            port=cfg.get("PORT") or None,
        )
        conn.autocommit = True
        return conn

    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    conn = admin()
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{src_name}"')
    conn.close()
    try:
        figures = _drill(tmp_path, f"{base}/{src_name}", f"{base}/{dst_name}")
        print(
            f"DRILL postgres backup={figures['backup_s']:.2f}s restore={figures['restore_s']:.2f}s bytes={figures['size']}"
        )
    finally:
        conn = admin()
        with conn.cursor() as cur:
            for name in (src_name, dst_name):
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
        shutil.rmtree(tmp_path, ignore_errors=True)
