"""Exports through a real Celery worker (slow suite): the job is picked up by the worker, which
records its progress and stores the file under exports/<job id>/. Skipped without PostgreSQL and
Redis (``DATABASE_URL``, ``REDIS_URL``)."""

from __future__ import annotations

from scoring.exports import services
from scoring.exports.models import ExportJob

from .dash_helpers import build_world, recompute
from .test_worker_integration import live, pytestmark, wait_for  # noqa: F401

__all__ = ["live", "pytestmark"]


def test_excel_export_runs_on_the_worker(live, leader):
    w = build_world()
    recompute(w)
    worker = live["worker"]()
    try:
        job = services.export_job_create(
            user=leader, kind=ExportJob.Kind.EXCEL, framework=w.framework, period=w.period
        )

        def finished():
            job.refresh_from_db()
            return job.is_finished

        wait_for(finished, timeout=60)
        assert job.state == ExportJob.State.DONE, job.error
        assert job.progress == 100 and job.size > 0 and job.started_at and job.finished_at
        assert job.file.name.startswith(f"exports/{job.pk}/")
        assert job.file_name.endswith(".xlsx")
    finally:
        worker.stop()
