"""API permissions every route gets (``REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]``).

Kept apart from ``dti_portal.api``: DRF imports these while ``rest_framework.views`` is loading.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

MUST_CHANGE_MESSAGE = _(
    "Bạn cần đổi mật khẩu được cấp (đăng nhập vào cổng bằng trình duyệt) trước khi dùng API."
)


class PasswordChanged(BasePermission):
    """A user with a generated initial password may not use the API (token or session) until
    they have changed it in the portal: the API is no way around the first-login change."""

    message = MUST_CHANGE_MESSAGE
    code = "password_change_required"

    def has_permission(self, request: Request, view: Any) -> bool:
        return not getattr(request.user, "must_change_password", False)
