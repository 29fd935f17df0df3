"""API routes of the evidence app (mounted under /api/v1/)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from .api import reporting, review

# --- reporting (issue 4) ---
reporting_router = SimpleRouter()
reporting_router.register("periods", reporting.PeriodViewSet, basename="period")
reporting_router.register("submissions", reporting.SubmissionViewSet, basename="submission")

urlpatterns: list = [
    path(
        "submissions/<int:pk>/evidence/",
        reporting.SubmissionEvidenceView.as_view(),
        name="submission-evidence",
    ),
    path(
        "evidence/<int:pk>/download/",
        reporting.EvidenceDownloadView.as_view(),
        name="evidence-download",
    ),
    # --- review (issue 5) ---
    path("submissions/<int:pk>/submit/", review.SubmitView.as_view(), name="submission-submit"),
    path(
        "submissions/<int:pk>/start-review/",
        review.StartReviewView.as_view(),
        name="submission-start-review",
    ),
    path("submissions/<int:pk>/approve/", review.ApproveView.as_view(), name="submission-approve"),
    path("submissions/<int:pk>/return/", review.ReturnView.as_view(), name="submission-return"),
    path("submissions/<int:pk>/reopen/", review.ReopenView.as_view(), name="submission-reopen"),
    path("submissions/<int:pk>/final/", review.FinalView.as_view(), name="submission-final"),
    path("submissions/<int:pk>/history/", review.HistoryView.as_view(), name="submission-history"),
    path("", include(reporting_router.urls)),
]
