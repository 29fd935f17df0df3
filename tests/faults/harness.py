"""Fault-injection harness: private Redis and PostgreSQL instances, gunicorn, a Celery worker
and a client loop, all started and stopped by the test (nothing shared is touched).

- ``PrivateRedis``: ``redis-server`` on a free loopback port, no persistence; ``stop``/``start``.
- ``PrivatePostgres``: a throwaway cluster (``initdb`` in a temp dir, run as the ``postgres``
  system user when the test runs as root) on a free port; ``restart`` = ``pg_ctl restart -m fast``.
- ``Stack``: gunicorn (2 × gthread) + a Celery worker with embedded beat, on a database URL and
  a Redis URL, with the bench settings (production settings over plain HTTP on loopback).
- ``LoadLoop``: a thread of agency staff saving and submitting their drafts and a reviewer
  approving, through the API, recording every response (time, action, status).
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float = 60, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except Exception:  # noqa: BLE001 - the service is still coming up
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(interval)


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="dti-redis-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        wait_for(lambda: redis.Redis(port=self.port, socket_timeout=1).ping(), timeout=20)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivatePostgres:
    """A throwaway PostgreSQL cluster owned by this test (safe to restart on a shared host)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="dti-pg-"))
        self.data = self.dir / "data"
        self.as_postgres = os.geteuid() == 0

    @staticmethod
    def available() -> bool:
        return (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists()

    def _run(self, args: list[str]) -> None:
        if self.as_postgres:
            args = ["runuser", "-u", "postgres", "--", *args]
        subprocess.run(args, check=True, capture_output=True, timeout=120)  # noqa: S603

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/dti_fault"

    def start(self) -> None:
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        if not self.data.exists():
            self._run(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                ]
            )
        self._run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.dir / "log"),
                "-w",
                "-o",
                f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                "start",
            ]
        )

    def create_db(self) -> None:
        import psycopg2

        conn = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres"
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE dti_fault")
        conn.close()

    def restart(self) -> None:
        self._run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-w",
                "-l",
                str(self.dir / "log"),
                "-m",
                "fast",
                "-o",
                f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                "restart",
            ]
        )

    def cleanup(self) -> None:
        with contextlib.suppress(Exception):  # already stopped
            self._run(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-m", "immediate", "stop"]
            )
        shutil.rmtree(self.dir, ignore_errors=True)


def stack_env(database_url: str, redis_url: str, media: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_EAGER": "0",
            "DEBUG": "0",
            "DTI_TESTING": "0",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "MEDIA_ROOT": str(media),
            "STATIC_ROOT": str(media / "static"),
            "CONN_MAX_AGE": "60",
            "PYTHONPATH": str(ROOT),
            "CELERY_BROKER_CONNECTION_TIMEOUT": "1",
        }
    )
    return env


class Stack:
    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env = env
        self.tmp = tmp
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self) -> None:
        logs = {n: open(self.tmp / f"{n}.log", "w") for n in ("gunicorn", "worker")}  # noqa: SIM115
        self.procs["gunicorn"] = subprocess.Popen(  # noqa: S603
            [
                str(BIN / "gunicorn"),
                "dti_portal.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                "2",
                "-k",
                "gthread",
                "--threads",
                "4",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=logs["gunicorn"],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.worker_args = [
            str(BIN / "celery"),
            "-A",
            "dti_portal",
            "worker",
            "-B",
            "-c",
            "1",
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "-s",
            str(self.tmp / "beat-schedule"),
        ]
        self.worker_log = logs["worker"]
        self._start_worker()
        # Like the production compose file (restart: unless-stopped): a worker that exits is
        # started again; the restarts are counted and reported.
        self.worker_restarts = 0
        self._supervise = True
        threading.Thread(target=self._supervisor, daemon=True).start()
        wait_for(
            lambda: requests.get(self.base + "/api/v1/frameworks/", timeout=2).status_code == 401,
            timeout=90,
        )

    def _start_worker(self) -> None:
        self.procs["worker"] = subprocess.Popen(  # noqa: S603
            self.worker_args,
            cwd=ROOT,
            env=self.env,
            stdout=self.worker_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _supervisor(self) -> None:
        while self._supervise:
            worker = self.procs.get("worker")
            if worker is not None and worker.poll() is not None and self._supervise:
                self.worker_restarts += 1
                self._start_worker()
            time.sleep(0.5)

    def stop(self) -> None:
        self._supervise = False
        for p in self.procs.values():
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for p in self.procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        self.procs = {}

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text()[-4000:]


@dataclass
class Hit:
    t: float
    action: str
    status: int  # 0 = connection error
    detail: str = ""


@dataclass
class LoadLoop:
    base: str
    staff: list[str]
    reviewer: str
    password: str
    period: int
    hits: list[Hit] = field(default_factory=list)
    stop_flag: threading.Event = field(default_factory=threading.Event)

    def _req(
        self, session: requests.Session, action: str, method: str, url: str, **kw: Any
    ) -> requests.Response | None:
        t = time.monotonic()
        try:
            r = session.request(method, self.base + url, timeout=30, **kw)
        except requests.RequestException as exc:
            self.hits.append(Hit(t, action, 0, str(exc)[:120]))
            return None
        self.hits.append(
            Hit(t, action, r.status_code, r.text[:120] if r.status_code >= 400 else "")
        )
        return r

    def login(self, username: str) -> requests.Session:
        s = requests.Session()
        r = wait_for(
            lambda: s.post(
                self.base + "/api/v1/auth/token/",
                json={"username": username, "password": self.password},
                timeout=30,
            ),
            timeout=60,
        )
        s.headers["Authorization"] = f"Token {r.json()['token']}"
        return s

    def run(self) -> None:
        rng = random.Random(1)  # noqa: S311
        sessions = {u: self.login(u) for u in self.staff}
        reviewer = self.login(self.reviewer)
        while not self.stop_flag.is_set():
            user = rng.choice(self.staff)
            s = sessions[user]
            r = self._req(
                s, "list", "GET", f"/api/v1/submissions/?period={self.period}&page_size=100"
            )
            if r is not None and r.status_code == 200:
                rows = r.json().get("results", [])
                own = {i.get("agency") for i in rows if i.get("state") == "draft"}
                items = [
                    i
                    for i in rows
                    if i.get("state") in ("draft", "returned") and i.get("agency") in own
                ]
                if items:
                    item = rng.choice(items)
                    r2 = self._req(
                        s,
                        "save",
                        "PATCH",
                        f"/api/v1/submissions/{item['id']}/",
                        json={
                            "values": item.get("values") or {},
                            "note": "x",
                            "version": item["version"],
                            "consolidation_reason": "Điều chỉnh theo rà soát",
                        },
                    )
                    if r2 is not None and r2.status_code == 200:
                        self._req(
                            s,
                            "submit",
                            "POST",
                            f"/api/v1/submissions/{item['id']}/submit/",
                            json={"version": r2.json()["version"]},
                        )
            r = self._req(
                reviewer,
                "review list",
                "GET",
                f"/api/v1/submissions/?period={self.period}&state=submitted&page_size=20",
            )
            if r is not None and r.status_code == 200 and r.json().get("results"):
                item = r.json()["results"][0]
                self._req(
                    reviewer,
                    "approve",
                    "POST",
                    f"/api/v1/submissions/{item['id']}/approve/",
                    json={"version": item["version"]},
                )
            self._req(
                reviewer,
                "summary",
                "GET",
                "/api/v1/scores/summary/?framework=dti-2025-load&period=" + str(self.period),
            )
            time.sleep(0.05)


def prepare_data(env: dict[str, str], agencies: int = 8) -> None:
    for args in (
        ["migrate", "--noinput", "-v", "0"],
        [
            "generate_load_data",
            "--agencies",
            str(agencies),
            "--quarters",
            "1",
            "--seed",
            "3",
            "--password",
            "fault-pass-12345",
        ],
    ):
        proc = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )  # noqa: S603
        assert proc.returncode == 0, proc.stderr[-3000:]


def probe(env: dict[str, str], code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )  # noqa: S603
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]
