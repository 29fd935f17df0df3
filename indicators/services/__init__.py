"""Writes on frameworks: import, lifecycle (publish, archive, new version), edits, crosswalks."""

from .imports import ImportFailed, ImportReport, UnknownAgency, framework_import, guess_agency_kind
from .lifecycle import (
    Assignment,
    crosswalk_create,
    crosswalk_delete,
    framework_archive,
    framework_assign,
    framework_new_version,
    framework_problems,
    framework_publish,
    indicator_audit_state,
    indicator_update,
)

__all__ = [
    "Assignment",
    "ImportFailed",
    "ImportReport",
    "UnknownAgency",
    "crosswalk_create",
    "crosswalk_delete",
    "framework_archive",
    "framework_assign",
    "framework_import",
    "framework_new_version",
    "framework_problems",
    "framework_publish",
    "guess_agency_kind",
    "indicator_audit_state",
    "indicator_update",
]
