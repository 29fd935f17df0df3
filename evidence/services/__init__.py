"""evidence services (package: each area in its own module, re-exported here).

- ``periods``, ``submissions``, ``evidence_files``, ``evidence_reuse``, ``workbook``: reporting
  (issue 4).
- ``transitions``, ``notifications``: review (issue 5).
"""

# --- review (issue 5) ---
from .audit import audit_context, current_request_id

# --- reporting (issue 4) ---
from .evidence_files import (
    evidence_add_file,
    evidence_add_link,
    evidence_download_audit,
    evidence_remove,
    inspect_upload,
)
from .evidence_reuse import evidence_reuse
from .notifications import notification_mark_read, notify, user_set_email_notifications
from .periods import (
    default_deadline,
    item_extension_grant,
    item_is_open,
    period_close,
    period_create,
    period_extend,
    period_is_locked,
    period_open,
    today_vn,
)
from .storage_cleanup import CleanupReport, evidence_orphans_remove
from .submissions import (
    carry_over_values,
    lead_proposal,
    submission_carry_over,
    submission_create,
    submission_update,
)
from .transitions import (
    Action,
    BulkApproveResult,
    ReturnReason,
    submission_approve,
    submission_bulk_approve,
    submission_reopen,
    submission_return,
    submission_set_final,
    submission_start_review,
    submission_submit,
)
from .values import clean_values, combined_proposal, compute_points

__all__ = [
    "Action",
    "CleanupReport",
    "BulkApproveResult",
    "ReturnReason",
    "audit_context",
    "carry_over_values",
    "clean_values",
    "combined_proposal",
    "compute_points",
    "current_request_id",
    "default_deadline",
    "evidence_add_file",
    "evidence_add_link",
    "evidence_download_audit",
    "evidence_orphans_remove",
    "evidence_remove",
    "evidence_reuse",
    "inspect_upload",
    "item_extension_grant",
    "item_is_open",
    "lead_proposal",
    "notification_mark_read",
    "notify",
    "period_close",
    "period_create",
    "period_extend",
    "period_is_locked",
    "period_open",
    "submission_approve",
    "submission_bulk_approve",
    "submission_carry_over",
    "submission_create",
    "submission_reopen",
    "submission_return",
    "submission_set_final",
    "submission_start_review",
    "submission_submit",
    "submission_update",
    "today_vn",
    "user_set_email_notifications",
]
