"""The request context of audited writes lives in :mod:`dti_portal.audit` (every app's audit rows
carry it); re-exported here for evidence's views and services."""

from dti_portal.audit import audit_context, current_request_id

__all__ = ["audit_context", "current_request_id"]
