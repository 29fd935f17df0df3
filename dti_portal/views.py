"""Project-level pages: login/logout, password change, the home page per role, error pages."""

from __future__ import annotations

import logging
import sys
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _

from .forms import PortalAuthenticationForm

logger = logging.getLogger(__name__)


class PortalLoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    authentication_form = PortalAuthenticationForm


class PortalLogoutView(auth_views.LogoutView):
    pass


class PortalPasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        from agencies.services import user_password_changed

        user_password_changed(
            user=self.request.user,  # type: ignore[arg-type]
            request_id=getattr(self.request, "request_id", ""),
        )
        messages.success(self.request, _("Đã đổi mật khẩu."))
        return response


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The home page: what the user's role works on. Agency staff get their inbox panel; the
    Sở's reviewers (and administrators) go straight to the review queue, leaders to the
    province dashboard, the appraisal council to its final points: their work starts there."""
    from evidence.selectors import home_context

    user = request.user
    if getattr(user, "is_leader", False):
        return redirect("scoring:dashboard")
    if getattr(user, "is_council", False):
        return redirect("evidence:review_council")
    if getattr(user, "is_reviewer", False):
        return redirect("evidence:review_queue")
    return render(request, "home.html", home_context(user=user))


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """The user's account page; for the roles that use MFA (or a user who enrolled), its status
    and the link to the backup codes."""
    from agencies.mfa import MFA_ROLES
    from agencies.selectors import mfa_status

    status = mfa_status(user=request.user)  # type: ignore[arg-type]
    show_mfa = status.enrolled or getattr(request.user, "role", "") in MFA_ROLES
    return render(request, "profile.html", {"mfa": status if show_mfa else None})


def ping(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    """The 500 answer names an incident id, logged with the exception, that a user can quote to
    the help desk; the API answers it in JSON (``{"detail", "incident"}``) like its other errors.

    Django calls this handler while handling the exception, so ``sys.exc_info()`` is still set.
    """
    incident = uuid.uuid4().hex[:12]
    logger.error(
        "Unhandled error, incident %s (request %s, %s %s)",
        incident,
        getattr(request, "request_id", "-"),
        request.method,
        request.path,
        exc_info=sys.exc_info(),
    )
    message = _("Đã xảy ra lỗi hệ thống. Vui lòng thử lại sau.")
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "incident": incident}, status=500)
    return render(request, "errors/500.html", {"incident": incident}, status=500)
