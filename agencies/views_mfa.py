"""MFA pages: TOTP enrolment (otpauth URI and key, QR when a QR library is installed) and the
verification step after the password. See ``agencies.mfa`` for the enforcement."""

from __future__ import annotations

import base64
import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from .mfa import has_confirmed_device


class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Mã xác thực (6 chữ số)"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


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


@login_required
@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Enrols a TOTP device: shows the key, then confirms it with a first valid code."""
    user = request.user
    if has_confirmed_device(user) and not request.user.is_verified():  # type: ignore[union-attr]
        return redirect("agencies:mfa_verify")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            otp_login(request, device)
            messages.success(request, _("Đã bật xác thực hai lớp."))
            return redirect(_next_url(request))
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


@login_required
@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """The second step after the password: a code from the user's authenticator app."""
    user = request.user
    if not has_confirmed_device(user):
        return redirect("agencies:mfa_setup")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["token"].strip())
        if device is not None:
            otp_login(request, device)
            return redirect(_next_url(request))
        form.add_error("token", _("Mã không đúng hoặc đã hết hạn."))
    return render(request, "agencies/mfa_verify.html", {"form": form, "next": _next_url(request)})
