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
