"""Integration against PostgreSQL, Redis and a real ``celery worker`` subprocess (slow suite).

The worker uses the test database (its ``DATABASE_URL`` names pytest-django's test database;
``transactional_db`` makes the test's writes visible to it) and the test's ``REDIS_URL``.
Skipped unless ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` are set.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from evidence.models import Submission
from evidence.services import submission_approve, submission_create, submission_submit
from indicators.models import Indicator, Measure
from scoring.models import ScoreSnapshot, ScoreState
from tests.factories import (
    AgencyFactory,
    FrameworkFactory,
    IndicatorFactory,
    ReportingPeriodFactory,
    UserFactory,
)

ROOT = Path(__file__).resolve().parents[2]
D = Decimal

pytestmark = [
    pytest.mark.slow,
    pytest.mark.worker,
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL")
        or not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="needs DATABASE_URL (PostgreSQL) and REDIS_URL",
    ),
]


def _db_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    auth = s["USER"] or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_for(check: Callable[[], Any], timeout: float = 30, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


class Worker:
    """A ``celery -A tests.scoring.worker_app worker`` subprocess on the test database."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = ROOT / "tests" / "artifacts" / "scoring-worker.log"

    def start(self, **extra_env: str) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.scoring.worker_app",
                "worker",
                "-P",
                "solo",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "INFO",
            ],
            cwd=ROOT,
            env={**self.env, **extra_env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def live(transactional_db) -> Iterator[dict[str, Any]]:
    """Real Celery publishing from the test process, and a worker factory."""
    import redis

    from dti_portal.celery import app

    redis_url = os.environ["REDIS_URL"]
    client = redis.Redis.from_url(redis_url)
    client.flushdb()  # this test's own Redis database: no queued leftovers
    env = dict(
        os.environ,
        DATABASE_URL=_db_url(),
        REDIS_URL=redis_url,
        CELERY_EAGER="0",
        DTI_TESTING="1",
        DJANGO_SETTINGS_MODULE="tests.scoring.worker_settings",
    )
    env.pop("SCORING_TEST_RUN_DELAY", None)
    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    workers: list[Worker] = []

    def make_worker(**extra: str) -> Worker:
        w = Worker(env)
        w.start(**extra)
        workers.append(w)
        return w

    try:
        yield {"worker": make_worker, "env": env, "redis": client}
    finally:
        for w in workers:
            w.stop()
        app.conf.task_always_eager = was_eager
        client.flushdb()


def build(n_subs: int = 50) -> dict[str, Any]:
    """A 1000-point framework of ``n_subs`` yes/no sub-indicators (5 main indices), one lead."""
    per_main = n_subs // 5
    fw = FrameworkFactory(total_points=D(1000))
    lead = AgencyFactory()
    staff = UserFactory(role="agency_staff", agency=lead)
    reviewer = UserFactory(username="reviewer", role="reviewer", agency=AgencyFactory())
    subs = []
    for m in range(1, 6):
        main = IndicatorFactory(
            framework=fw, level=Indicator.Level.MAIN, code=str(m), max_points=D(200)
        )
        for s in range(1, per_main + 1):
            sub = IndicatorFactory(
                framework=fw,
                parent=main,
                level=Indicator.Level.SUB,
                code=f"{m}.{s}",
                max_points=D(200) / per_main,
                scoring_rule={"type": "yes_no", "measure": "done"},
                lead_agency=lead,
            )
            Measure.objects.create(indicator=sub, code="done", label="Đã thực hiện", kind="boolean")
            subs.append(sub)
    period = ReportingPeriodFactory(framework=fw)
    return {
        "fw": fw,
        "period": period,
        "lead": lead,
        "staff": staff,
        "reviewer": reviewer,
        "subs": subs,
    }


def submit_all(world: dict[str, Any], subs: list[Indicator]) -> list[Submission]:
    out = []
    for ind in subs:
        s = submission_create(
            actor=world["staff"], indicator=ind, period=world["period"], values={"done": "1"}
        )
        out.append(submission_submit(submission=s, actor=world["staff"], version=s.version))
    return out


def approve(world: dict[str, Any], sub: Submission) -> Submission:
    sub = Submission.objects.get(pk=sub.pk)
    return submission_approve(submission=sub, actor=world["reviewer"], version=sub.version)


def appraised_total(world: dict[str, Any]) -> Decimal | None:
    snap = ScoreSnapshot.objects.filter(
        framework=world["fw"], period=world["period"], kind="appraised"
    ).first()
    return None if snap is None else snap.total_points


def state(world: dict[str, Any]) -> ScoreState:
    return ScoreState.objects.get(framework=world["fw"], period=world["period"])


def settled(world: dict[str, Any], expected: Decimal) -> bool:
    st = state(world)
    return not st.stale and appraised_total(world) == expected


def test_approvals_update_the_summary_within_seconds(live):
    world = build(50)
    live["worker"]()
    submitted = submit_all(world, world["subs"][:3])
    wait_for(lambda: ScoreSnapshot.objects.filter(framework=world["fw"]).count() == 3, timeout=60)
    wait_for(lambda: not state(world).stale, timeout=30)
    assert appraised_total(world) == 0
    started = time.monotonic()
    approve(world, submitted[0])
    wait_for(lambda: settled(world, D(20)), timeout=15)
    elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed
    approve(world, submitted[1])
    wait_for(lambda: settled(world, D(40)), timeout=15)
    from scoring.selectors import score_summary

    summary = score_summary(user=world["reviewer"], framework=world["fw"], period=world["period"])
    assert D(summary["appraised"]["total_points"]) == D(40)
    assert summary["appraised"]["stale"] is False
    assert D(summary["self_assessed"]["total_points"]) == D(60)


def test_burst_of_50_approvals_gives_few_runs_and_correct_numbers(live):
    world = build(50)
    live["worker"]()
    submitted = submit_all(world, world["subs"])
    wait_for(lambda: ScoreSnapshot.objects.filter(framework=world["fw"]).exists(), timeout=60)
    wait_for(lambda: not state(world).stale, timeout=60)
    runs_before = state(world).runs
    for s in submitted:
        approve(world, s)
    wait_for(lambda: settled(world, D(1000)), timeout=60)
    time.sleep(3)  # let any straggler run finish
    st = state(world)
    runs = st.runs - runs_before
    assert st.requested_seq >= 50
    assert 1 <= runs <= 10, runs  # far fewer than 50
    snap = ScoreSnapshot.objects.get(
        framework=world["fw"], period=world["period"], kind="appraised"
    )
    assert snap.dti == D(1) and snap.points_at_risk == 0


def test_worker_killed_mid_run_then_restarted_leaves_correct_numbers(live):
    world = build(50)
    submitted = submit_all(world, world["subs"][:4])  # no worker yet: one coalesced run queued
    for s in submitted[:2]:
        approve(world, s)
    assert state(world).requested_seq >= 10
    worker = live["worker"](SCORING_TEST_RUN_DELAY="30")
    wait_for(lambda: live["redis"].get("scoring-test:running"), timeout=60)
    worker.kill9()  # in the middle of a run: nothing written by it
    live["redis"].delete("scoring-test:running")
    assert state(world).stale
    assert not ScoreSnapshot.objects.filter(framework=world["fw"]).exists()
    # a healthy worker, and nothing else queued: the unacked message comes back (acks_late) or
    # the sweeper (beat) finds the stale scores
    live["worker"]()
    from scoring.tasks import sweep_stale

    def recovered() -> bool:
        if settled(world, D(40)):
            return True
        sweep_stale.delay()
        return False

    wait_for(recovered, timeout=90, interval=2)
    snap = ScoreSnapshot.objects.get(
        framework=world["fw"], period=world["period"], kind="self_assessed"
    )
    assert snap.total_points == D(80)


def test_redis_down_approval_succeeds_stale_then_sweeper_recovers(live):
    world = build(50)
    live["worker"]()
    submitted = submit_all(world, world["subs"][:2])
    wait_for(lambda: ScoreSnapshot.objects.filter(framework=world["fw"]).count() == 3, timeout=60)
    wait_for(lambda: not state(world).stale, timeout=30)
    # the web process cannot reach Redis (an unused port): the approval must still succeed
    down = dict(
        live["env"],
        REDIS_URL="redis://127.0.0.1:6399/0",
        DJANGO_SETTINGS_MODULE="dti_portal.settings_test",
    )
    code = (
        "from evidence.models import Submission; from evidence.services import submission_approve; "
        "from agencies.models import User; "
        f"s = Submission.objects.get(pk={submitted[0].pk}); "
        "submission_approve(submission=s, actor=User.objects.get(username='reviewer'), version=s.version); "
        "print('APPROVED')"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=down,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert b"APPROVED" in done.stdout
    assert Submission.objects.get(pk=submitted[0].pk).state == "approved"
    st = state(world)
    assert st.stale and st.enqueue_failed_at is not None
    from scoring.selectors import score_summary

    summary = score_summary(user=world["reviewer"], framework=world["fw"], period=world["period"])
    assert summary["appraised"]["stale"] is True
    assert D(summary["appraised"]["total_points"]) == 0
    # Redis is back for the worker and beat: the periodic sweeper brings the scores up to date
    from scoring.tasks import sweep_stale

    sweep_stale.delay()
    wait_for(lambda: settled(world, D(20)), timeout=30)
    st = state(world)
    assert st.enqueue_failed_at is None
    summary = score_summary(user=world["reviewer"], framework=world["fw"], period=world["period"])
    assert summary["appraised"]["stale"] is False
    assert D(summary["appraised"]["total_points"]) == D(20)
