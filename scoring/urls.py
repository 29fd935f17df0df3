"""Pages of the scoring app: dashboards with drill-down, what-if, national comparison, league
table and exports (all take ``?framework=CODE&period=ID``)."""

from django.urls import path

from .dashboards import views as dash
from .exports import views as exports

app_name = "scoring"

urlpatterns: list = [
    path("", dash.dashboard, name="dashboard"),
    path("main/<str:code>/", dash.main_index, name="main_index"),
    path("sub/<str:code>/", dash.sub_indicator, name="sub_indicator"),
    path("what-if/", dash.whatif, name="whatif"),
    path("national/", dash.national, name="national"),
    path("national/import/", dash.national_import, name="national_import"),
    path("league/", dash.league, name="league"),
    path("exports/", exports.exports, name="exports"),
    path("exports/<uuid:job_id>/", exports.export_job, name="export_job"),
    path("exports/<uuid:job_id>/download/", exports.export_download, name="export_download"),
]
