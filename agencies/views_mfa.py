"""MFA pages: TOTP enrolment (otpauth URI and key, QR when a QR library is installed), the
verification step after the password (an authenticator code or a backup code) and the backup
codes page. See ``agencies.mfa`` for the enforcement.

Backup codes are django-otp static tokens: created at enrolment and on regeneration, shown in that
one response only (no cache may keep it), single use."""

from __future__ import annotations

import base64
import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from dti_portal.audit import audit_context

from .mfa import has_confirmed_device, normalize_otp
from .selectors import mfa_status
from .services import user_backup_code_used, user_backup_codes_regenerate, user_mfa_enrol


class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Mã xác thực (6 chữ số)"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class VerifyForm(forms.Form):
    """An authenticator code (6 digits) or a backup code (8 characters; spaces, dashes and
    letter case do not matter)."""

    token = forms.CharField(
        label=gettext_lazy("Mã xác thực hoặc mã dự phòng"),
        min_length=6,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )

    def clean_token(self) -> str:
        return normalize_otp(self.cleaned_data["token"])


#: The session's own unconfirmed TOTP device (its key shown on the setup page).
PENDING_DEVICE_KEY = "mfa_pending_device"


def _next_url(request: HttpRequest) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return nxt
    return "/"


def _qr_data_uri(uri: str) -> str:
    """An SVG QR code as a data: URI, or "" when neither qrcode nor segno is installed."""
    try:
        from django_otp.qr import write_qrcode_image

        buf = io.BytesIO()
        write_qrcode_image(uri, buf)
    except ModuleNotFoundError:
        return ""
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


def _backup_codes_page(request: HttpRequest, codes: list[str], *, next_url: str) -> HttpResponse:
    """The new backup codes: this answer is the only place they are ever shown."""
    return render(request, "agencies/mfa_backup_codes_new.html", {"codes": codes, "next": next_url})


@never_cache  # the enrolment answer holds the TOTP key, then the backup codes
@sensitive_post_parameters("token")
@sensitive_variables("codes", "key_b32")
@login_required
@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Enrols a TOTP device: shows the key, then confirms it with a first valid code."""
    user = request.user
    if has_confirmed_device(user) and not request.user.is_verified():  # type: ignore[union-attr]
        return redirect("agencies:mfa_verify")
    # The key being enrolled is this session's own: another session of the same user (someone
    # holding only the password) must never be shown, and later share, the key confirmed here.
    pending = request.session.get(PENDING_DEVICE_KEY)
    device = (
        TOTPDevice.objects.filter(user=user, confirmed=False, pk=pending).first()
        if isinstance(pending, int)
        else None
    )
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=False)
        request.session[PENDING_DEVICE_KEY] = device.pk
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            with audit_context(request):
                codes = user_mfa_enrol(user=user, device=device)  # type: ignore[arg-type]
            otp_login(request, device)
            request.session.pop(PENDING_DEVICE_KEY, None)
            messages.success(request, _("Đã bật xác thực hai lớp."))
            return _backup_codes_page(request, codes, next_url=_next_url(request))
        form.add_error("token", _("Mã không đúng hoặc đã hết hạn."))
    key_b32 = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "agencies/mfa_setup.html",
        {
            "form": form,
            "otpauth_uri": device.config_url,
            "secret": " ".join(key_b32[i : i + 4] for i in range(0, len(key_b32), 4)),
            "qr": _qr_data_uri(device.config_url),
            "next": _next_url(request),
        },
    )


@sensitive_post_parameters("token")
@login_required
@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """The second step after the password: a code from the user's authenticator app, or one of
    their backup codes (django-otp's ``match_token`` tries every confirmed device of the user;
    a matched backup code is deleted)."""
    user = request.user
    if not has_confirmed_device(user):
        return redirect("agencies:mfa_setup")
    form = VerifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                with audit_context(request):
                    left = user_backup_code_used(user=user)  # type: ignore[arg-type]
                messages.warning(
                    request,
                    _(
                        "Bạn vừa dùng một mã dự phòng, còn %(left)d mã. Hãy tạo mã dự phòng mới "
                        "nếu sắp hết hoặc nếu bạn đã mất điện thoại."
                    )
                    % {"left": left},
                )
            return redirect(_next_url(request))
        form.add_error("token", _("Mã không đúng hoặc đã hết hạn."))
    return render(request, "agencies/mfa_verify.html", {"form": form, "next": _next_url(request)})


@never_cache  # a POST answer holds the new backup codes
@sensitive_variables("codes")
@login_required
@require_http_methods(["GET", "POST"])
def mfa_backup_codes(request: HttpRequest) -> HttpResponse:
    """How many backup codes are left; POST replaces them with new ones, shown once. Needs a
    session verified with a second factor (this page is reachable before verification, like
    every page under /agencies/mfa/)."""
    user = request.user
    status = mfa_status(user=user)  # type: ignore[arg-type]
    verified = user.is_verified()  # type: ignore[union-attr]
    if request.method == "POST":
        if not (status.enrolled and verified):
            messages.error(request, _("Hãy xác thực hai lớp trước khi tạo mã dự phòng mới."))
            target = "agencies:mfa_verify" if status.enrolled else "agencies:mfa_setup"
            return redirect(f"{reverse(target)}?next={reverse('agencies:mfa_backup_codes')}")
        with audit_context(request):
            codes = user_backup_codes_regenerate(user=user)  # type: ignore[arg-type]
        return _backup_codes_page(request, codes, next_url=reverse("profile"))
    return render(
        request, "agencies/mfa_backup_codes.html", {"status": status, "verified": verified}
    )
