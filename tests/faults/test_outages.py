"""Fault tests under load (slow suite): Redis stopped for a while, PostgreSQL restarted.

Both run gunicorn + a Celery worker (with beat) against instances that belong to the test:
a scratch database on the configured PostgreSQL server and a private ``redis-server`` for the
Redis outage; a throwaway PostgreSQL cluster (``initdb`` in a temp dir, its own port) for the
restart, so nothing shared with other users of the machine is stopped. A client loop keeps
saving, submitting, approving and reading the score summary through the API the whole time.

Invariants checked after each fault: no 5xx on the paths that do not need the queue; every
successful submit/approve response has exactly one transition row and no row exists without
one (no lost and no phantom submissions); stale scores are recomputed once the service is
back. Recovery times go to tests/artifacts/security-figures.json for SECURITY.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from tests.faults.harness import (
    LoadLoop,
    PrivatePostgres,
    PrivateRedis,
    Stack,
    prepare_data,
    probe,
    stack_env,
    wait_for,
)
from tests.security.figures import record

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres")
        or not shutil.which("redis-server"),
        reason="needs DATABASE_URL (PostgreSQL) and redis-server",
    ),
]
PASSWORD = "fault-pass-12345"  # noqa: S105 - accounts of a throwaway database

COUNT_CODE = (
    "import json; from evidence.models import SubmissionTransition as T; from django.db.models import Count; "
    "print(json.dumps(dict(T.objects.filter(created_at__gte=__import__('django.utils.timezone', fromlist=['x']).now()"
    " - __import__('datetime').timedelta(hours=1)).values_list('action').annotate(n=Count('id')).values_list('action', 'n'))))"
)
STALE_CODE = (
    "from scoring.models import ScoreState; "
    "print(sum(1 for s in ScoreState.objects.all() if s.stale), ScoreState.objects.count())"
)
SETUP_CODE = (
    "import json; from evidence.models import ReportingPeriod, Submission; "
    "p = ReportingPeriod.objects.get(status='open'); "
    "staff = sorted(set(Submission.objects.filter(period=p, state__in=['draft', 'returned'])"
    ".values_list('agency__users__username', flat=True)) - {None}); "
    "print(json.dumps({'period': p.id, 'staff': staff[:6]}))"
)


def _counts(hits, actions):
    ok = Counter(h.action for h in hits if h.action in actions and 200 <= h.status < 300)
    return ok


def _baseline_transitions(env) -> Counter:
    import json

    return Counter(json.loads(probe(env, COUNT_CODE)))


def _check_invariants(env, loop: LoadLoop, before: Counter) -> dict:
    import json

    after = Counter(json.loads(probe(env, COUNT_CODE)))
    ok = _counts(loop.hits, {"submit", "approve"})
    submits = (
        after["submit"]
        + after["submit_to_lead"]
        + after["resubmit"]
        - (before["submit"] + before["submit_to_lead"] + before["resubmit"])
    )
    approvals = after["approve"] - before["approve"]
    assert submits == ok["submit"], (submits, ok)
    assert approvals == ok["approve"], (approvals, ok)
    return {"submits": submits, "approvals": approvals}


@pytest.fixture
def scratch_db():
    import psycopg2
    from django.conf import settings

    cfg = settings.DATABASES["default"]
    name = f"dti_fault_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(
        host=cfg["HOST"] or "127.0.0.1",
        port=cfg["PORT"] or 5432,
        user=cfg["USER"] or None,
        password=cfg["PASSWORD"] or None,
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    auth = cfg["USER"] or ""
    if cfg.get("PASSWORD"):
        auth += f":{cfg['PASSWORD']}"
    yield f"postgres://{auth}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{name}"
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _run_fault(env, tmp, fault, outage_s: float) -> tuple[LoadLoop, dict]:
    import json

    setup = json.loads(probe(env, SETUP_CODE))
    stack = Stack(env, tmp)
    try:
        stack.start()
        before = _baseline_transitions(env)
        loop = LoadLoop(stack.base, setup["staff"], "load_reviewer1", PASSWORD, setup["period"])
        th = threading.Thread(target=loop.run, daemon=True)
        th.start()
        wait_for(lambda: len(loop.hits) > 20, timeout=60)
        t_fault = time.monotonic()
        figures = fault(stack, loop, outage_s)
        time.sleep(5)  # the loop keeps going after the recovery
        loop.stop_flag.set()
        th.join(timeout=60)
        figures.update(_check_invariants(env, loop, before))
        figures["requests"] = len(loop.hits)
        figures["fault_started"] = t_fault
        return loop, figures
    except Exception:
        print(stack.log("gunicorn"))
        print(stack.log("worker"))
        raise
    finally:
        stack.stop()


def test_redis_stopped_for_a_while_under_load(scratch_db):
    redis = PrivateRedis()
    redis.start()
    tmp = Path(tempfile.mkdtemp(prefix="dti-fault-"))
    try:
        env = stack_env(scratch_db, redis.url, tmp / "media")
        prepare_data(env)

        def fault(stack, loop, outage_s):
            t0 = time.monotonic()
            redis.stop()
            time.sleep(outage_s)
            during = [h for h in loop.hits if h.t >= t0]
            redis.start()
            t_back = time.monotonic()
            time.sleep(5)  # users keep working once Redis is back...
            loop.stop_flag.set()  # ...then the province goes quiet and the backlog must drain
            # The sweeper (beat, every minute) recomputes what went stale during the outage.
            wait_for(lambda: probe(env, STALE_CODE).split()[0] == "0", timeout=150, interval=2)
            recovered = time.monotonic() - t_back
            errors = [h for h in during if h.status >= 500 or h.status == 0]
            assert not errors, [(h.action, h.status, h.detail) for h in errors[:10]]
            return {
                "outage_s": outage_s,
                "requests_during_outage": len(during),
                "served_during_outage": sum(1 for h in during if 0 < h.status < 500),
                "submits_during_outage": sum(
                    1 for h in during if h.action == "submit" and h.status < 300
                ),
                "approvals_during_outage": sum(
                    1 for h in during if h.action == "approve" and h.status < 300
                ),
                "stale_recomputed_after_s": round(recovered, 1),
                "worker_restarts": stack.worker_restarts,
            }

        loop, figures = _run_fault(env, tmp, fault, outage_s=20)
        assert figures["requests_during_outage"] > 0 and figures["submits_during_outage"] > 0
        assert not [h for h in loop.hits if h.status >= 500 or h.status == 0]
        record("fault_redis_outage", **figures)
    finally:
        redis.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.skipif(
    not PrivatePostgres.available(), reason="PostgreSQL server binaries not installed"
)
def test_postgres_restarted_under_load():
    pg = PrivatePostgres()
    redis = PrivateRedis()
    tmp = Path(tempfile.mkdtemp(prefix="dti-fault-"))
    try:
        pg.start()
        pg.create_db()
        redis.start()
        env = stack_env(pg.url, redis.url, tmp / "media")
        prepare_data(env)

        def fault(stack, loop, outage_s):
            t0 = time.monotonic()
            pg.restart()
            restarted = time.monotonic() - t0
            # Recovery: the first successful request after the restart began.
            first_ok = wait_for(
                lambda: next((h for h in loop.hits if h.t > t0 and 200 <= h.status < 300), None),
                timeout=60,
            )
            failed = [h for h in loop.hits if h.t >= t0 and (h.status >= 500 or h.status == 0)]
            window = max((h.t for h in failed), default=t0) - t0
            return {
                "restart_s": round(restarted, 2),
                "first_success_after_s": round(first_ok.t - t0, 2),
                "error_window_s": round(window, 2),
                "failed_requests": len(failed),
            }

        loop, figures = _run_fault(env, tmp, fault, outage_s=0)
        # After the error window every request succeeds again (the app reconnects by itself).
        late = [
            h
            for h in loop.hits
            if h.t > figures["fault_started"] + figures["error_window_s"] + 0.01
        ]
        assert late and not [h for h in late if h.status >= 500 or h.status == 0]
        record("fault_postgres_restart", **figures)
    finally:
        redis.cleanup()
        pg.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def test_worker_child_killed_mid_task_is_redelivered_at_once(scratch_db):
    """FT1: the pool process running a recompute is SIGKILLed; with ``acks_late`` and
    ``reject_on_worker_lost`` the message goes back to the queue at once and a new child
    completes it (no wait for the visibility timeout); the killed run wrote nothing."""
    import subprocess
    import sys

    import psutil
    import redis as redis_lib

    from tests.faults.harness import ROOT

    redis = PrivateRedis()
    redis.start()
    tmp = Path(tempfile.mkdtemp(prefix="dti-fault-"))
    worker = None
    try:
        env = stack_env(scratch_db, redis.url, tmp / "media")
        prepare_data(env)
        # Every score is up to date, then one change asks for a recompute of the open period.
        probe(
            env,
            "from scoring.services import score_recompute_all; score_recompute_all(); print('ok')",
        )
        probe(
            env,
            "from evidence.models import ReportingPeriod as P; from scoring.services import "
            "score_recompute_request as r; p = P.objects.get(status='open'); "
            "r(framework_id=p.framework_id, period_id=p.id); print('ok')",
        )
        assert probe(env, STALE_CODE).split()[0] == "1"
        log = (tmp / "worker.log").open("w")
        worker = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.scoring.worker_app",
                "worker",
                "-P",
                "prefork",
                "-c",
                "1",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "INFO",
            ],
            cwd=ROOT,
            env={**env, "SCORING_TEST_RUN_DELAY": "4"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        r = redis_lib.Redis.from_url(redis.url)
        wait_for(lambda: r.get("scoring-test:running"), timeout=90)
        children = psutil.Process(worker.pid).children()
        assert len(children) == 1
        # The redelivered run waits at its start until the killed run's traces are checked: on
        # a loaded machine the probe's own start-up can outlast the run's whole delay.
        r.set("scoring-test:hold", "1")
        t_kill = time.monotonic()
        children[0].kill()  # the pool process, in the middle of the run
        r.delete("scoring-test:running")
        wait_for(lambda: r.get("scoring-test:running"), timeout=60)  # redelivered, started
        redelivered = time.monotonic() - t_kill
        assert probe(env, STALE_CODE).split()[0] == "1"  # the killed run wrote nothing
        r.delete("scoring-test:hold")
        wait_for(lambda: probe(env, STALE_CODE).split()[0] == "0", timeout=120, interval=1)
        completed = time.monotonic() - t_kill
        assert worker.poll() is None  # the main process survived and replaced its child
        snaps = probe(
            env,
            "from scoring.models import ScoreSnapshot as S; from evidence.models import ReportingPeriod as P; "
            "p = P.objects.get(status='open'); print(S.objects.filter(period=p).count())",
        )
        assert snaps == "3"  # one per kind, no duplicate from the redelivery
        record(
            "fault_worker_child_killed",
            redelivered_after_kill_s=round(redelivered, 1),
            completed_after_kill_s=round(completed, 1),
            run_delay_s=4,
        )
        # Redelivered well before the broker's visibility timeout (1 h).
        assert redelivered < 60
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, 15)
            worker.wait(timeout=30)
        redis.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
