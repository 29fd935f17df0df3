"""Guards shared by the apps' admin pages (the admin is no way around the domain rules)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin


class GuardedHistoryAdmin(SimpleHistoryAdmin):
    """simple-history's admin, its old versions viewable but never restored.

    Its "revert to this version" page saves the old row over the current one on a *view*
    permission alone: past ``has_change_permission`` (a published framework, a node of one),
    past the state machines (a published framework went back to draft) and past the audited
    services. A change is made on the change form, which keeps those rules.
    """

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)
