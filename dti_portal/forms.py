"""Project-level forms."""

from __future__ import annotations

from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class PortalAuthenticationForm(AuthenticationForm):
    """The login form with the portal's own plain wording (Django's asks the user to mind the
    letter case of both fields, which reads oddly in Vietnamese)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "Tên đăng nhập hoặc mật khẩu không đúng. Nhập sai nhiều lần, tài khoản sẽ bị tạm "
            "khóa; nếu quên mật khẩu, hãy liên hệ Sở KH&CN."
        ),
        "inactive": _("Tài khoản này đã bị khóa. Hãy liên hệ Sở KH&CN."),
    }
