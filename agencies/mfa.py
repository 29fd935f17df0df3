"""Multi-factor authentication (TOTP, django-otp) and session binding.

- ``mfa_required(user)``: reviewers, administrators and the council must verify a TOTP code (or
  one of their single-use backup codes) after the password when ``settings.DTI_MFA_REQUIRED`` is
  on (default: on when DEBUG is off and not testing).
- ``AccountSecurityMiddleware``:
  * an MFA-required user whose session is not OTP-verified only reaches the enrolment and
    verification pages (and logout); other pages redirect there, session API calls answer 403;
  * a session is bound to the user's agency and role at login: once an administrator moves the
    user to another agency or changes the role, the old session ends at its next request.
    (Deactivated users lose their sessions already: Django's backend refuses inactive users.)
- API tokens: ``token_login_mfa_error`` makes ``POST /api/v1/auth/token/`` require a valid
  ``otp`` (an authenticator or a backup code) for MFA-required users, and ``revoke_tokens_on_scope_change`` deletes a user's API
  tokens when the agency, role or active flag changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

SESSION_BIND_KEY = "_dti_scope"
#: The roles whose actions change scores or data: they must use MFA when it is on.
MFA_ROLES = ("reviewer", "admin", "council")

# Reachable by a logged-in but not yet OTP-verified user that must use MFA.
MFA_EXEMPT_PREFIXES = (
    "/agencies/mfa/",
    "/accounts/logout/",
    "/accounts/login/",
    "/static/",
    "/i18n/",
    "/health/",
)


def mfa_enabled() -> bool:
    return bool(getattr(settings, "DTI_MFA_REQUIRED", False))


def mfa_required(user: Any) -> bool:
    """True when ``user`` must pass a TOTP check: reviewers, administrators and the appraisal
    council (the roles whose actions change scores or data)."""
    return (
        mfa_enabled()
        and getattr(user, "is_authenticated", False)
        and getattr(user, "role", None) in MFA_ROLES
    )


def has_confirmed_device(user: Any) -> bool:
    from django_otp import user_has_device

    return bool(user_has_device(user, confirmed=True))


def normalize_otp(value: str) -> str:
    """An entered code as django-otp compares it: a backup code may be typed with spaces,
    dashes or capitals (the stored codes are lower case); authenticator codes are digits."""
    return "".join(str(value).split()).replace("-", "").lower()


def scope_of(user: Any) -> str:
    return f"{user.pk}:{user.agency_id or '-'}:{user.role}"


def token_login_mfa_error(user: Any, otp: str | None) -> str | None:
    """For the API token login: None when the user may get a token, else the error message."""
    if not mfa_required(user):
        return None
    from django_otp import match_token

    if not has_confirmed_device(user):
        return _("Tài khoản này cần đăng ký xác thực hai lớp (TOTP) trên giao diện web trước.")
    if not otp:
        return _("Cần mã xác thực hai lớp (otp) hợp lệ.")
    # An authenticator code or a backup code (match_token tries every confirmed device; a
    # matched backup code is deleted).
    device = match_token(user, normalize_otp(otp))
    if device is None:
        return _("Cần mã xác thực hai lớp (otp) hợp lệ.")
    from django_otp.plugins.otp_static.models import StaticDevice

    if isinstance(device, StaticDevice):
        from .services import user_backup_code_used

        user_backup_code_used(user=user)
    return None


class AccountSecurityMiddleware:
    """Enforces MFA for reviewers/admins and ends sessions whose agency or role changed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            bound = request.session.get(SESSION_BIND_KEY)
            current = scope_of(user)
            if bound is None:
                request.session[SESSION_BIND_KEY] = current
            elif bound != current:
                logout(request)
                if request.path.startswith("/api/"):
                    return JsonResponse(
                        {"detail": _("Phiên làm việc đã kết thúc do tài khoản thay đổi.")},
                        status=401,
                    )
                messages.info(request, _("Tài khoản của bạn đã thay đổi, vui lòng đăng nhập lại."))
                return redirect(f"{reverse('login')}?next={request.path}")
            if (
                mfa_required(user)
                and not user.is_verified()
                and not request.path.startswith(MFA_EXEMPT_PREFIXES)
            ):
                if request.path.startswith("/api/"):
                    return JsonResponse(
                        {"detail": _("Cần xác thực hai lớp trước khi dùng chức năng này.")},
                        status=403,
                    )
                target = (
                    "agencies:mfa_verify" if has_confirmed_device(user) else "agencies:mfa_setup"
                )
                return redirect(f"{reverse(target)}?next={request.get_full_path()}")
        return self.get_response(request)


@receiver(user_logged_in, dispatch_uid="agencies.mfa.bind_session")
def _bind_session(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_BIND_KEY] = scope_of(user)


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="agencies.mfa.remember_scope")
def _remember_scope(sender: Any, instance: Any, **kwargs: Any) -> None:
    fields = kwargs.get("update_fields")
    if fields is not None and not {"agency", "role", "is_active"} & set(fields):
        instance._dti_old_scope = None  # e.g. last_login on login: nothing to compare
        return
    if instance.pk is None:
        instance._dti_old_scope = None
        return
    old = sender.objects.filter(pk=instance.pk).values("agency_id", "role", "is_active").first()
    instance._dti_old_scope = old


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="agencies.mfa.revoke_tokens")
def revoke_tokens_on_scope_change(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """Deletes the user's API tokens when agency, role or the active flag changed."""
    old = getattr(instance, "_dti_old_scope", None)
    if created or not old:
        return
    if (
        old["agency_id"] != instance.agency_id
        or old["role"] != instance.role
        or old["is_active"] != instance.is_active
    ):
        from knox.models import AuthToken

        AuthToken.objects.filter(user=instance).delete()
