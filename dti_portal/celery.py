"""Celery application. Tasks take ids, are idempotent and are enqueued after commit."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dti_portal.settings")

app = Celery("dti_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
