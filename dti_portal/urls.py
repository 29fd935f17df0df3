"""Top-level URLs: pages per app, the API under /api/v1/, schema and offline docs."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from health_check.views import HealthCheckView
from rest_framework.permissions import IsAuthenticated

from . import api, views

api_v1 = [
    path("auth/token/", api.TokenLoginView.as_view(), name="api-token"),
    path("auth/logout/", api.TokenLogoutView.as_view(), name="api-logout"),
    path("", include("agencies.api_urls")),
    path("", include("indicators.api_urls")),
    path("", include("evidence.api_urls")),
    path("", include("scoring.api_urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.PortalLoginView.as_view(), name="login"),
    path("accounts/logout/", views.PortalLogoutView.as_view(), name="logout"),
    path("accounts/password/", views.PortalPasswordChangeView.as_view(), name="password_change"),
    path("accounts/profile/", views.profile, name="profile"),
    path("i18n/", include("django.conf.urls.i18n")),
    path(
        "health/",
        HealthCheckView.as_view(
            checks=["health_check.checks.Cache", "health_check.checks.Database"]
        ),
        name="health",
    ),
    path("agencies/", include("agencies.urls")),
    path("frameworks/", include("indicators.urls")),
    path("reporting/", include("evidence.urls")),
    path("scores/", include("scoring.urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    # Not public (SECURITY_TESTS CF2): the schema and docs need a logged-in user or a token.
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]),
        name="schema",
    ),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[IsAuthenticated]),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", permission_classes=[IsAuthenticated]),
        name="api-redoc",
    ),
    path("admin/", admin.site.urls),
]

handler403 = "dti_portal.views.error_403"
handler404 = "dti_portal.views.error_404"
handler500 = "dti_portal.views.error_500"

if settings.DEBUG:  # pragma: no cover
    urlpatterns += [path("__debug__/ping/", views.ping)]
if settings.DTI_BENCH_FLOOR_VIEW:  # pragma: no cover - `make bench` only: the latency floor
    urlpatterns += [path("bench/floor/", views.ping, name="bench-floor")]
