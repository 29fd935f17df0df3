"""Domain errors raised by services; the API exception handler and views map them to HTTP.

- ``ValidationFailed`` → 400 with field errors (``{"field": ["message"]}``)
- ``NotAllowed`` → 403 (the role may not take this action)
- ``NotFound`` → 404 (outside the caller's scope)
- ``Conflict`` → 409 (wrong state, or a stale version)
Messages are Vietnamese (gettext) because they reach the user as they are.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    default_code = "invalid"

    def __init__(self, message: str = "", *, errors: dict[str, Any] | None = None, code: str = ""):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.code = code or self.default_code

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.errors)
        if self.message:
            data.setdefault("detail", self.message)
        data.setdefault("code", self.code)
        return data


class ValidationFailed(DomainError):
    status_code = 400
    default_code = "invalid"


class NotAllowed(DomainError):
    status_code = 403
    default_code = "permission_denied"


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"


class Conflict(DomainError):
    status_code = 409
    default_code = "conflict"
