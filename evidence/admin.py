"""evidence admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import ReminderDigest, SubmissionTransition


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit rows are viewable, never added, changed or deleted through the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}


@admin.register(SubmissionTransition)
class SubmissionTransitionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "submission", "action", "from_state", "to_state", "actor"]
    list_filter = ["action", "to_state", "actor_role"]
    search_fields = ["reason", "request_id", "actor__username"]
    list_select_related = [
        "submission__indicator",
        "submission__agency",
        "submission__period",
        "actor",
    ]
    date_hierarchy = "created_at"


@admin.register(ReminderDigest)
class ReminderDigestAdmin(ReadOnlyAdmin):
    list_display = ["day", "agency", "period", "kind", "items"]
    list_filter = ["kind", "day"]
    list_select_related = ["agency", "period"]
