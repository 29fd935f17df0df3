"""Framework pages (mounted under /frameworks/)."""

from django.urls import path

from . import views

app_name = "indicators"

urlpatterns = [
    path("", views.framework_list, name="framework_list"),
    path("mine/", views.my_indicators, name="my_indicators"),
    path("compare/", views.framework_compare, name="framework_compare"),
    path("import/", views.framework_import, name="framework_import"),
    path("import/<str:token>/", views.framework_import_preview, name="framework_import_preview"),
    path("<int:pk>/", views.framework_detail, name="framework_detail"),
    path("<int:pk>/history/", views.framework_history, name="framework_history"),
    path("<int:pk>/assign/", views.framework_assign, name="framework_assign"),
    path("<int:pk>/export/", views.framework_export, name="framework_export"),
    path("<int:pk>/publish/", views.framework_publish, name="framework_publish"),
    path("<int:pk>/archive/", views.framework_archive, name="framework_archive"),
    path("<int:pk>/new-version/", views.framework_new_version, name="framework_new_version"),
    path("indicator/<int:pk>/edit/", views.indicator_edit, name="indicator_edit"),
]
