"""Celery wiring: eager by default, and a real worker over Redis in the slow suite."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dti_portal.celery import app
from dti_portal.tasks import ping

ROOT = Path(__file__).resolve().parents[2]


def test_eager_by_default_runs_inline(settings):
    if os.environ.get("CELERY_EAGER") == "0":
        pytest.skip("eager disabled")
    assert ping.delay(41).get(timeout=5) == 42


def test_celery_configuration():
    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_time_limit and conf.task_soft_time_limit
    assert "nightly-recompute" in conf.beat_schedule
    # A worker registers only what it imports: tasks outside "<app>/tasks.py" must be listed.
    assert {"dti_portal.tasks", "scoring.exports.tasks"} <= set(conf.imports)


@pytest.mark.slow
def test_real_worker_over_redis():
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("REDIS_URL not set")
    env = dict(os.environ, CELERY_EAGER="0", DJANGO_SETTINGS_MODULE="dti_portal.settings_test")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "dti_portal",
            "worker",
            "-P",
            "solo",
            "-Q",
            "foundation-test",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        import redis

        client = redis.Redis.from_url(redis_url)
        client.delete("dti:test:ping")
        from celery import Celery

        sender = Celery("sender", broker=redis_url)
        sender.conf.task_serializer = "json"
        sender.send_task(
            "dti_portal.tasks.ping", args=[1, "dti:test:ping"], queue="foundation-test"
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if client.get("dti:test:ping") == b"2":
                break
            time.sleep(0.2)
        assert client.get("dti:test:ping") == b"2"
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
