"""The request context of audited writes: which request (id) a transition or event came from.

Views wrap service calls in ``with audit_context(request):``; services read
``current_request_id()`` when they write a SubmissionTransition or an AuditEvent, so the audit
row can be matched with the web server's log line (``X-Request-ID``). Celery tasks and commands
run outside any request: the id is then empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_request_id: ContextVar[str] = ContextVar("audit_request_id", default="")


@contextmanager
def audit_context(request: Any) -> Iterator[str]:
    """Makes ``request.request_id`` (set by RequestIdMiddleware) the current audit request id."""
    rid = str(getattr(request, "request_id", "") or "")[:64]
    token = _request_id.set(rid)
    try:
        yield rid
    finally:
        _request_id.reset(token)


def current_request_id() -> str:
    """The request id of the audited write in progress ("" outside a request)."""
    return _request_id.get()
