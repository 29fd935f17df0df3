#!/usr/bin/env python
"""`make bench`: one run of every benchmark, written to BENCHMARKS.md.

Every figure is a ratio against a floor measured in the same run on the same machine, so a
noisy machine does not change the verdict:

1. Province recompute (N = 100 and N = 1000 agencies, 8 quarters) vs one SQL aggregate.
2. Queries per request of every parameterless page and API list at both sizes.
3. Deadline-day load (locust, headless, loopback) on gunicorn + PostgreSQL + Redis + a Celery
   worker vs the minimal view /bench/floor/ of the same server under the same load.
4. Evidence upload throughput vs writing the same bytes to disk directly.
5. Peak RSS of the web workers during a 200 MB upload (must stay flat: streamed).

Uses DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432) with its own database
names (dti_bench_*), REDIS_URL's server with its own db number (13), temporary media and static
roots. Starts and stops its own gunicorn and Celery worker. Bounded: about 10 minutes on 2 cores.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
BIN = Path(PY).parent
OUT = ROOT / "BENCHMARKS.md"
PG_BASE = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS_BASE = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "13"))
SIZES = [int(x) for x in os.environ.get("BENCH_SIZES", "100,1000").split(",")]
QUARTERS = int(os.environ.get("BENCH_QUARTERS", "8"))
LOAD_USERS = int(os.environ.get("BENCH_USERS", "40"))
LOAD_SECONDS = int(os.environ.get("BENCH_SECONDS", "90"))
PASSWORD = "load-pass-12345"  # noqa: S105 - synthetic accounts of a throwaway database
LOG: list[str] = []


def say(msg: str) -> None:
    line = f"[{datetime.datetime.now(tz=datetime.UTC):%H:%M:%S}] {msg}"
    print(line, flush=True)
    LOG.append(line)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Bench:
    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="dti-bench-"))
        self.static = self.tmp / "static"
        self.secret = secrets.token_urlsafe(64)
        self.commands: list[str] = []
        self.results: dict[str, Any] = {"sizes": {}}
        self.procs: list[subprocess.Popen] = []

    # --- environment -------------------------------------------------------------------------
    def env(self, db: str, media: Path | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
                "DATABASE_URL": f"{PG_BASE}/{db}",
                "REDIS_URL": f"{REDIS_BASE}/{REDIS_DB}",
                "CACHE_PREFIX": "dti-bench",
                "DEBUG": "0",
                "DTI_TESTING": "0",
                "SECRET_KEY": self.secret,
                "STATIC_ROOT": str(self.static),
                "MEDIA_ROOT": str(media or (self.tmp / f"media-{db}")),
                "CONN_MAX_AGE": "60",
                "PYTHONPATH": str(ROOT),
            }
        )
        return env

    def run(self, args: list[str], env: dict[str, str], label: str, timeout: int = 900) -> str:
        self.commands.append(" ".join(a if " " not in a else repr(a) for a in args))
        proc = subprocess.run(  # noqa: S603
            args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{label} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
        return proc.stdout

    def json_of(self, out: str) -> Any:
        return json.loads(out.strip().splitlines()[-1])

    def admin_sql(self, *statements: str) -> None:
        import psycopg2

        conn = psycopg2.connect(f"{PG_BASE}/postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            for st in statements:
                cur.execute(st)
        conn.close()

    # --- steps -------------------------------------------------------------------------------
    def machine(self) -> None:
        import psutil

        cpu = platform.processor() or ""
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        pg = subprocess.run(  # noqa: S603
            ["psql", f"{PG_BASE}/postgres", "-tAc", "SHOW server_version"],  # noqa: S607
            capture_output=True,
            text=True,
        ).stdout.strip()
        commit = subprocess.run(  # noqa: S603
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,  # noqa: S607
        ).stdout.strip()
        self.results["machine"] = {
            "cpu": cpu,
            "cores": os.cpu_count(),
            "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "load_avg_at_start": os.getloadavg(),
            "os": platform.platform(),
            "python": platform.python_version(),
            "postgresql": pg,
            "commit": commit,
            "date": datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        }

    def prepare(self) -> None:
        say("template database: migrate once, copy per size")
        self.admin_sql(
            "DROP DATABASE IF EXISTS dti_bench_tpl WITH (FORCE)",
            "CREATE DATABASE dti_bench_tpl",
        )
        env = self.env("dti_bench_tpl")
        self.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], env, "migrate")
        self.run([PY, "manage.py", "collectstatic", "--noinput", "-v", "0"], env, "collectstatic")

    def size(self, n: int) -> None:
        db = f"dti_bench_{n}"
        self.admin_sql(
            f"DROP DATABASE IF EXISTS {db} WITH (FORCE)",
            f"CREATE DATABASE {db} TEMPLATE dti_bench_tpl",
        )
        env = self.env(db)
        say(f"N={n}: generate_load_data")
        t0 = time.monotonic()
        out = self.run(
            [
                PY,
                "manage.py",
                "generate_load_data",
                "--agencies",
                str(n),
                "--quarters",
                str(QUARTERS),
                "--seed",
                "1",
                "--password",
                PASSWORD,
            ],
            env,
            "generate_load_data",
        )
        gen_s = time.monotonic() - t0
        say(f"N={n}: {out.strip().splitlines()[-1][:200]}")
        say(f"N={n}: recompute vs SQL floor")
        rec = self.json_of(
            self.run([PY, "-m", "bench.recompute", "--repeat", "3"], env, "recompute")
        )
        say(f"N={n}: engine {rec['engine_s']:.3f}s, floor {rec['floor_s']:.4f}s")
        say(f"N={n}: queries per request")
        q = self.json_of(self.run([PY, "-m", "bench.queries"], env, "queries"))
        self.results["sizes"][n] = {
            "generate_s": gen_s,
            "generate_out": out.strip().splitlines()[-1],
            "recompute": rec,
            "queries": q,
        }

    # --- servers -------------------------------------------------------------------------------
    def start_servers(self, db: str) -> str:
        import redis

        redis.Redis.from_url(f"{REDIS_BASE}/{REDIS_DB}").flushdb()
        env = self.env(db)
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.logs = {name: open(self.tmp / f"{name}.log", "w") for name in ("gunicorn", "celery")}  # noqa: SIM115
        gunicorn = [
            str(BIN / "gunicorn"),
            "dti_portal.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "3",
            "-k",
            "gthread",
            "--threads",
            "4",
            "--timeout",
            "120",
            "--max-requests",
            "0",
        ]
        celery = [
            str(BIN / "celery"),
            "-A",
            "dti_portal",
            "worker",
            "-c",
            "1",
            "-l",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ]
        self.commands += [" ".join(gunicorn), " ".join(celery)]
        for args, name in ((gunicorn, "gunicorn"), (celery, "celery")):
            self.procs.append(
                subprocess.Popen(
                    args,
                    cwd=ROOT,
                    env=env,
                    stdout=self.logs[name],
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # noqa: S603
            )
        import requests

        for _ in range(120):
            try:
                if requests.get(self.base + "/accounts/login/", timeout=2).status_code == 200:
                    return self.base
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError("gunicorn did not answer; see " + str(self.tmp / "gunicorn.log"))

    def worker_pids(self) -> list[int]:
        import psutil

        master = psutil.Process(self.procs[0].pid)
        return [c.pid for c in master.children()]

    def stop_servers(self) -> None:
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        self.procs = []
        for fh in getattr(self, "logs", {}).values():
            fh.close()

    # --- load ----------------------------------------------------------------------------------
    def locust(
        self, db: str, classes: list[str], users: int, seconds: int, tag: str, extra: dict[str, str]
    ) -> dict:
        env = self.env(db)
        env.update(extra)
        csv = self.tmp / f"locust-{tag}"
        results = self.tmp / f"locust-{tag}.json"
        env["BENCH_RESULTS"] = str(results)
        args = [
            str(BIN / "locust"),
            "-f",
            "bench/locustfile.py",
            "--headless",
            "-H",
            self.base,
            "-u",
            str(users),
            "-r",
            str(max(1, users // 5)),
            "-t",
            f"{seconds}s",
            "--csv",
            str(csv),
            "--only-summary",
            "--stop-timeout",
            "20",
            *classes,
        ]
        self.commands.append(" ".join(args))
        subprocess.run(
            args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 120
        )  # noqa: S603
        import csv as csvmod

        stats = {}
        with open(f"{csv}_stats.csv") as fh:
            for row in csvmod.DictReader(fh):
                stats[row["Name"]] = {
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "p50": float(row["50%"] or 0),
                    "p95": float(row["95%"] or 0),
                    "p99": float(row["99%"] or 0),
                    "rps": float(row["Requests/s"] or 0),
                }
        failures = []
        if Path(f"{csv}_failures.csv").exists():
            with open(f"{csv}_failures.csv") as fh:
                failures = list(csvmod.DictReader(fh))
        counts = json.loads(results.read_text()) if results.exists() else {}
        return {"stats": stats, "failures": failures[:20], "counts": counts}

    def load(self, n: int) -> None:
        db = f"dti_bench_{n}"
        env = self.env(db)
        period = self.json_of(self.run([PY, "-m", "bench.probe", "open-period"], env, "probe"))[
            "period"
        ]
        staff = self.json_of(
            self.run([PY, "-m", "bench.probe", "staff", str(period)], env, "probe")
        )
        staff_file = self.tmp / "staff.json"
        staff_file.write_text(json.dumps(staff))
        dashboard = os.environ.get("BENCH_DASHBOARD") or self.dashboard_path(env)
        extra = {
            "BENCH_PERIOD": str(period),
            "BENCH_STAFF": str(staff_file),
            "BENCH_PASSWORD": PASSWORD,
            "BENCH_DASHBOARD": dashboard,
        }
        self.start_servers(db)
        try:
            say("load: floor alone (minimal view, same server)")
            floor = self.locust(db, ["Floor"], LOAD_USERS // 2, 15, "floor", extra)
            before = self.json_of(
                self.run([PY, "-m", "bench.probe", "max-transition"], env, "probe")
            )["id"]
            say(f"load: deadline day, {LOAD_USERS} users, {LOAD_SECONDS}s, dashboard {dashboard}")
            t0 = time.monotonic()
            mixed = self.locust(db, [], LOAD_USERS, LOAD_SECONDS, "mixed", extra)
            load_s = time.monotonic() - t0
            drain = self.drain_queue()
            rows = self.json_of(
                self.run([PY, "-m", "bench.probe", "transitions", str(before)], env, "probe")
            )
            say("upload throughput and 200 MB streaming")
            from bench.upload import upload_bench  # importable once ROOT is on sys.path

            upload = upload_bench(self, env, period, python=PY, password=PASSWORD)
            self.results["load"] = {
                "users": LOAD_USERS,
                "seconds": LOAD_SECONDS,
                "wall_s": load_s,
                "dashboard": dashboard,
                "floor": floor,
                "mixed": mixed,
                "drain": drain,
                "transitions": rows,
                "staff": len(staff),
            }
            self.results["upload"] = upload
        finally:
            self.stop_servers()

    def dashboard_path(self, env: dict[str, str]) -> str:
        code = (
            "from django.urls import reverse, NoReverseMatch\n"
            "for name in ('scoring:dashboard', 'scoring:province', 'scoring:index', 'scoring:overview', 'home'):\n"
            "    try:\n        print(reverse(name)); break\n    except NoReverseMatch:\n        pass\n"
        )
        out = self.run([PY, "manage.py", "shell", "-c", code], env, "dashboard path")
        return out.strip().splitlines()[-1]

    def drain_queue(self) -> dict:
        import redis

        r = redis.Redis.from_url(f"{REDIS_BASE}/{REDIS_DB}")
        t0 = time.monotonic()
        peak = 0
        while time.monotonic() - t0 < 120:
            depth = r.llen("celery")
            peak = max(peak, depth)
            if depth == 0:
                break
            time.sleep(0.5)
        return {"backlog_after_load": peak, "drain_s": round(time.monotonic() - t0, 1)}


def main() -> int:
    started = time.monotonic()
    b = Bench()
    b.machine()
    try:
        b.prepare()
        for n in SIZES:
            b.size(n)
        if os.environ.get("BENCH_SKIP_LOAD") != "1":
            b.load(SIZES[-1])
        from bench.report import write_report  # bench/ is importable once ROOT is on sys.path

        write_report(
            b.results,
            b.commands,
            started,
            out=OUT,
            last_run=ROOT / "bench" / "last_run.json",
            quarters=QUARTERS,
            load_users=LOAD_USERS,
            log=LOG,
        )
        say(f"BENCHMARKS.md written in {time.monotonic() - started:.0f} s")
    finally:
        b.stop_servers()
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(b.tmp, ignore_errors=True)
            dbs = ["dti_bench_tpl"] + [f"dti_bench_{n}" for n in SIZES]
            b.admin_sql(*[f"DROP DATABASE IF EXISTS {d} WITH (FORCE)" for d in dbs])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
