"""Agency directory pages (mounted under /agencies/) and the MFA pages (issue 8)."""

from django.urls import path

from . import views, views_mfa

app_name = "agencies"

urlpatterns = [
    path("", views.agency_list, name="agency_list"),
    path("accounts/export/", views.accounts_export, name="accounts_export"),
    path("<int:pk>/", views.agency_detail, name="agency_detail"),
    # MFA (issue 8): enrolment and verification pages.
    path("mfa/setup/", views_mfa.mfa_setup, name="mfa_setup"),
    path("mfa/verify/", views_mfa.mfa_verify, name="mfa_verify"),
]
