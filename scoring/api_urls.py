"""API routes of the scoring app (mounted under /api/v1/)."""

from django.urls import path

from . import api
from .dashboards import api as dashboards_api
from .exports import api as exports_api

urlpatterns: list = [
    path("scores/summary/", api.ScoreSummaryView.as_view(), name="scores-summary"),
]

# Dashboards, league table, what-if, national comparison and exports (issue 7).
urlpatterns += [
    path("scores/dashboard/", dashboards_api.DashboardView.as_view(), name="score-dashboard"),
    path("scores/league/", dashboards_api.LeagueView.as_view(), name="score-league"),
    path("scores/what-if/", dashboards_api.WhatIfView.as_view(), name="score-whatif"),
    path("scores/national/", dashboards_api.NationalView.as_view(), name="score-national"),
    path("exports/", exports_api.ExportListCreateView.as_view(), name="export-list"),
    path("exports/<uuid:pk>/", exports_api.ExportDetailView.as_view(), name="export-detail"),
    path(
        "exports/<uuid:pk>/download/",
        exports_api.ExportDownloadView.as_view(),
        name="export-download",
    ),
]
