"""Cross-cutting middleware: request ids, session lifetime, login required, first-login password
change, no caching of what a logged-in user sees."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _

from .signals import SESSION_STARTED_KEY

# Paths reachable without a session. The API answers 401/403 itself (DRF), static files are public.
PUBLIC_PREFIXES = (
    "/accounts/login/",
    "/i18n/",
    "/static/",
    "/api/",
    "/health/",
    "/favicon.ico",
)


class RequestIdMiddleware:
    """Gives every request an id (or keeps the proxy's X-Request-ID) for the audit trail."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = (  # type: ignore[attr-defined]
            incoming[:64] if incoming.isprintable() and incoming else uuid.uuid4().hex
        )
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response


class IdleTimeoutMiddleware:
    """Ends a browser session idle for longer than SESSION_IDLE_TIMEOUT seconds, or older than
    SESSION_ABSOLUTE_SECONDS since the login however active it was.

    Every request writes the activity time, which also renews the session cookie: without the
    absolute limit a session in use would never end.
    """

    key = "_last_activity"
    started_key = SESSION_STARTED_KEY

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            last = request.session.get(self.key)
            # A session from before the login time was recorded starts its clock now.
            started = request.session.setdefault(self.started_key, now)
            idle = last is not None and now - int(last) > settings.SESSION_IDLE_TIMEOUT
            if idle or now - int(started) > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                if not request.path.startswith("/api/"):
                    messages.info(request, _("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại."))
                    return redirect(f"{reverse('login')}?next={request.path}")
            else:
                request.session[self.key] = now
        return self.get_response(request)


class LoginRequiredMiddleware:
    """Every page but the public ones needs a logged-in user (deny by default)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated and not request.path.startswith(PUBLIC_PREFIXES):
            return redirect(f"{reverse('login')}?next={request.path}")
        return self.get_response(request)


class ForcePasswordChangeMiddleware:
    """Users with a generated initial password must change it before anything else.

    Except the MFA pages: an MFA-required user enrols (or verifies) first, and
    ``AccountSecurityMiddleware`` sends them there from the password page too; refusing these
    pages here made the two first-login steps redirect to each other for ever.
    """

    allowed = ("/accounts/", "/i18n/", "/static/", "/api/", "/agencies/mfa/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and getattr(user, "must_change_password", False)
            and not request.path.startswith(self.allowed)
        ):
            messages.warning(request, _("Bạn cần đổi mật khẩu được cấp trước khi tiếp tục."))
            return redirect("password_change")
        return self.get_response(request)


class PortalLocaleMiddleware:
    """Vietnamese unless the user chose another language with the switch (cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language, which gives an English
    UI to civil servants whose browser happens to be English; the portal must be Vietnamese by
    default, so only an explicit choice counts.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.utils import translation

        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        response.headers.setdefault("Vary", "Cookie")
        return response


class DomainErrorMiddleware:
    """Safety net for pages: a service's ``NotAllowed`` / ``NotFound`` that a view did not catch
    becomes the 403 / 404 page instead of a 500 (fail securely; the API maps them itself)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from .errors import NotAllowed, NotFound
        from .views import error_403, error_404

        if isinstance(exception, NotAllowed):
            return error_403(request, exception)
        if isinstance(exception, NotFound):
            return error_404(request, exception)
        return None


class PrivateCacheMiddleware:
    """Answers to a logged-in user (a page, the API, a download) get ``Cache-Control: private,
    no-store`` unless the view chose its own caching: a shared computer's browser cache or a
    proxy must not keep another agency's data. Static files are public and keep their headers
    (whitenoise answers them before this middleware anyway).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # After the view: DRF authenticates tokens inside the view and sets request.user there.
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and "Cache-Control" not in response
            and not request.path.startswith(f"/{settings.STATIC_URL.lstrip('/')}")
        ):
            patch_cache_control(response, private=True, no_store=True)
        return response
