"""Agency directory and accounts pages (mounted under /agencies/) and the MFA pages (issue 8)."""

from django.urls import path

from . import views, views_mfa

app_name = "agencies"

urlpatterns = [
    path("", views.agency_list, name="agency_list"),
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/export/", views.accounts_export, name="accounts_export"),
    path("accounts/import/", views.accounts_import_upload, name="accounts_import"),
    path(
        "accounts/import/confirm/",
        views.accounts_import_confirm,
        name="accounts_import_confirm",
    ),
    path("directory/export/", views.directory_export, name="directory_export"),
    path("directory/import/", views.directory_import_upload, name="directory_import"),
    path(
        "directory/import/confirm/",
        views.directory_import_confirm,
        name="directory_import_confirm",
    ),
    path("<int:pk>/", views.agency_detail, name="agency_detail"),
    # MFA (issue 8): enrolment, verification and backup codes.
    path("mfa/setup/", views_mfa.mfa_setup, name="mfa_setup"),
    path("mfa/verify/", views_mfa.mfa_verify, name="mfa_verify"),
    path("mfa/backup-codes/", views_mfa.mfa_backup_codes, name="mfa_backup_codes"),
]
