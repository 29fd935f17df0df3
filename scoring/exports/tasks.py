"""Celery task generating an export job's file (takes the job id; idempotent)."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=3,
)
def run_export(job_id: str) -> str:
    """Generates the file of export job ``job_id``; a finished job is left as it is."""
    from .services import export_job_run

    job = export_job_run(job_id=job_id)
    return job.state if job else "missing"


@shared_task
def expire_exports() -> dict[str, object]:
    """Beat, nightly: deletes export jobs and files past ``EXPORT_RETENTION_DAYS`` (idempotent:
    a second run finds nothing)."""
    from .services import export_jobs_expire

    return export_jobs_expire().as_dict()
