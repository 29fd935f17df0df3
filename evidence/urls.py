from django.urls import path

from .views import audit, evidence_files, notifications, periods, reporting, review, workbook

app_name = "evidence"

urlpatterns: list = [
    # --- reporting (issue 4) ---
    path("", reporting.inbox, name="inbox"),
    path("periods/", periods.period_manage, name="period_manage"),
    path(
        "periods/<int:period_pk>/items/<int:indicator_pk>/",
        reporting.submission_edit,
        name="submission_edit",
    ),
    path(
        "periods/<int:period_pk>/items/<int:indicator_pk>/points/",
        reporting.points_preview,
        name="points_preview",
    ),
    path("submissions/<int:pk>/", reporting.submission_detail, name="submission_detail"),
    path("submissions/<int:pk>/send/", reporting.submission_submit, name="submission_send"),
    path("submissions/<int:pk>/evidence/", evidence_files.evidence_upload, name="evidence_upload"),
    path(
        "submissions/<int:pk>/evidence/reuse/", evidence_files.evidence_reuse, name="evidence_reuse"
    ),
    path("evidence/<int:pk>/download/", evidence_files.evidence_download, name="evidence_download"),
    path("evidence/<int:pk>/remove/", evidence_files.evidence_remove, name="evidence_remove"),
    path(
        "periods/<int:period_pk>/workbook/",
        workbook.workbook_download,
        name="workbook_download",
    ),
    path(
        "periods/<int:period_pk>/workbook/upload/",
        workbook.workbook_upload,
        name="workbook_upload",
    ),
    path(
        "periods/<int:period_pk>/workbook/confirm/",
        workbook.workbook_confirm,
        name="workbook_confirm",
    ),
    # --- review (issue 5) ---
    path("review/", review.review_queue, name="review_queue"),
    path("review/bulk-approve/", review.review_bulk_approve, name="review_bulk_approve"),
    path("review/council/", review.review_council, name="review_council"),
    path("review/<int:pk>/", review.review_detail, name="review_detail"),
    path("review/<int:pk>/start/", review.review_action, {"action": "start"}, name="review_start"),
    path(
        "review/<int:pk>/approve/",
        review.review_action,
        {"action": "approve"},
        name="review_approve",
    ),
    path(
        "review/<int:pk>/return/", review.review_action, {"action": "return"}, name="review_return"
    ),
    path(
        "review/<int:pk>/reopen/", review.review_action, {"action": "reopen"}, name="review_reopen"
    ),
    path("review/<int:pk>/final/", review.review_action, {"action": "final"}, name="review_final"),
    path(
        "submissions/<int:pk>/return-contribution/",
        review.return_contribution,
        name="return_contribution",
    ),
    path(
        "submissions/<int:pk>/history/",
        review.submission_history_page,
        name="submission_history",
    ),
    path("notifications/", notifications.notification_list, name="notifications"),
    path(
        "notifications/<int:pk>/open/",
        notifications.notification_open,
        name="notification_open",
    ),
    path(
        "notifications/read-all/",
        notifications.notification_read_all,
        name="notification_read_all",
    ),
    path(
        "notifications/settings/",
        notifications.notification_settings,
        name="notification_settings",
    ),
    path("audit/", audit.audit_log_page, name="audit_log"),
    path("audit/export/", audit.audit_log_export, name="audit_log_export"),
]
