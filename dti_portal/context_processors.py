"""Template context shared by every page: navigation by role, unread notifications."""

from typing import Any

from django.http import HttpRequest


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from evidence.selectors import notification_unread_count

    return {"unread_notifications": notification_unread_count(user=user)}
