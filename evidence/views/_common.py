"""Helpers shared by the reporting pages."""

from __future__ import annotations

import datetime

from django.http import HttpRequest

from .. import selectors
from ..models import ReportingPeriod


def _rid(request: HttpRequest) -> str:
    return getattr(request, "request_id", "")


def _period_or_current(request: HttpRequest) -> ReportingPeriod | None:
    pk = request.GET.get("period")
    if pk:
        return selectors.period_get(user=request.user, pk=pk)
    return selectors.current_period()


def _parse_date(text: str) -> datetime.date | None:
    """A date typed as yyyy-mm-dd (the date input) or dd/mm/yyyy; None when it is neither."""
    text = (text or "").strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def remember_form(request: HttpRequest, key: str, fields: tuple[str, ...], exc: Exception) -> None:
    """A refused POST answered by a redirect (messages and PRG): keeps what was typed (never a
    file) and the field errors in the session for the page the redirect shows, once."""
    errors = getattr(exc, "errors", None) or {}
    request.session[f"typed:{key}"] = {
        "data": {f: request.POST.get(f, "")[:5000] for f in fields},
        "errors": {
            str(k): [str(m) for m in (v if isinstance(v, list | tuple) else [v])]
            for k, v in errors.items()
            if isinstance(k, str)
        },
    }


def recall_form(request: HttpRequest, key: str) -> dict[str, dict]:
    """What :func:`remember_form` kept for ``key`` (then forgotten), else empty data/errors."""
    return request.session.pop(f"typed:{key}", None) or {"data": {}, "errors": {}}
