"""Reads of export jobs, already scoped: the one place that decides whose jobs a user sees.

A job is its requester's (its file reflects the requester's scope when it was made) while the
requester keeps that scope: a user moved to another agency or role no longer sees the jobs made
before (their sessions and API tokens end too). An administrator may also open anyone's.
Everything else is not found (404).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from agencies.mfa import scope_of
from agencies.models import User

from .models import ExportJob


def export_job_list(*, user: Any, mine: bool = True) -> QuerySet[ExportJob]:
    """The user's own jobs, newest first (the lists); ``mine=False``: every job the user may
    open (an administrator: all of them)."""
    qs = ExportJob.objects.select_related("framework", "period")
    if mine or getattr(user, "role", "") != User.Role.ADMIN:
        qs = qs.filter(requested_by_id=user.pk, requester_scope=scope_of(user))
    return qs


def export_job_get(*, user: Any, pk: Any) -> ExportJob:
    """One job the user may open; any other (or a malformed id) is a 404."""
    try:
        return export_job_list(user=user, mine=False).get(pk=pk)
    except (ExportJob.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise Http404 from exc
