"""API plumbing shared by every app: the exception handler, auth routes, the client address and
the lockout answer shared with django-axes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.views import LoginView as KnoxLoginView
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError
from .permissions import MUST_CHANGE_MESSAGE


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Maps domain errors to 400/403/404/409; Django's own errors as DRF does."""
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response({"detail": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        return Response({"detail": _("Không tìm thấy.")}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, PermissionDenied):
        detail = _("Bạn không có quyền thực hiện thao tác này.")
        return Response({"detail": detail}, status=status.HTTP_403_FORBIDDEN)
    return drf_exception_handler(exc, context)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as DRF's throttles see it (``NUM_PROXIES``), for django-axes too.

    With ``NUM_PROXIES`` 0, ``REMOTE_ADDR``; with N proxies, the N-th address from the right of
    ``X-Forwarded-For``: the one the first trusted proxy saw, whatever the client wrote there.
    """
    return BaseThrottle().get_ident(request)  # type: ignore[arg-type]


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """django-axes' answer to a locked account: JSON on the API (and to XMLHttpRequest, as axes
    does), the lockout page elsewhere."""
    from axes.helpers import get_cool_off

    status_code = getattr(settings, "AXES_HTTP_RESPONSE_CODE", 429)  # axes.conf default
    xhr = request.headers.get("X-Requested-With") == "XMLHttpRequest"  # axes' own JSON case
    if not (request.path.startswith("/api/") or xhr):
        return render(request, settings.AXES_LOCKOUT_TEMPLATE, status=status_code)
    detail = _(
        "Bạn đã nhập sai mật khẩu quá số lần cho phép. Vui lòng thử lại sau hoặc liên hệ Sở KH&CN."
    )
    response = JsonResponse({"detail": detail, "code": "locked"}, status=status_code)
    cool_off = get_cool_off(request)
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


class TokenCredentialsSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=(
            "TOTP code, or one of the user's single-use backup codes; required for reviewers, "
            "administrators and council members when MFA is on."
        ),
    )


# Error reports never show the password or the one-time code (a backup code is a secret).
@method_decorator(sensitive_post_parameters("password", "otp"), name="dispatch")
class TokenLoginView(KnoxLoginView):
    """Exchanges ``{"username", "password"}`` for ``{"token", "expiry"}`` (django-axes guarded)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_scope = "auth"

    @extend_schema(
        request=TokenCredentialsSerializer,
        responses=inline_serializer(
            "TokenResponse",
            {"token": serializers.CharField(), "expiry": serializers.DateTimeField()},
        ),
    )
    def post(self, request: Request, format: Any = None) -> Response:  # noqa: A002
        from django.contrib.auth import authenticate

        ser = TokenCredentialsSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=ser.validated_data["username"],
            password=ser.validated_data["password"],
        )
        if user is None or not user.is_active:
            return Response(
                {"detail": _("Tên đăng nhập hoặc mật khẩu không đúng.")},
                status=status.HTTP_400_BAD_REQUEST,
            )
        from agencies.mfa import token_login_mfa_error

        from .audit import audit_context

        with audit_context(request._request):  # a backup code used is audited with the request id
            mfa_error = token_login_mfa_error(user, ser.validated_data.get("otp"))
        if mfa_error:
            return Response({"detail": mfa_error, "code": "mfa_required"}, status=403)
        if getattr(user, "must_change_password", False):
            return Response(
                {"detail": MUST_CHANGE_MESSAGE, "code": "password_change_required"},
                status=403,
            )
        request.user = user
        request._request.user = user
        return super().post(request, format=format)

    def get_post_response_data(self, request: Request, token: str, instance: Any) -> dict:
        return {"token": token, "expiry": instance.expiry}


class TokenLogoutView(KnoxLogoutView):
    """Revokes the token used for this request (also for a user who must change a password)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, format: Any = None) -> Response:  # noqa: A002
        super().post(request, format=format)
        return Response(status=status.HTTP_204_NO_CONTENT)
