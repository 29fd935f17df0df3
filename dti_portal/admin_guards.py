"""Guards shared by the apps' admin pages (the admin is no way around the domain rules)."""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

#: The hidden field carrying the row's fingerprint as the change form was rendered.
STALE_FIELD = "_stale_token"


class StaleEditGuard(admin.ModelAdmin):
    """A change form saved on a page older than the row is refused in words (with the form
    errors), not saved over what another administrator changed meanwhile.

    The page carries a fingerprint of the stored row; the save compares it with the row read
    under a lock (the admin saves in one transaction). ``stale_ignore_fields``: columns that
    change without anyone editing the row (an account's last sign-in). A post without the
    field (a script) is not checked, like a transition without a version.
    """

    stale_ignore_fields: tuple[str, ...] = ()

    def stale_fingerprint(self, pk: Any, *, lock: bool = False) -> str:
        names = [
            f.attname
            for f in self.model._meta.concrete_fields
            if f.name not in self.stale_ignore_fields
        ]
        rows = self.model._default_manager.filter(pk=pk)
        if lock:
            rows = rows.select_for_update()
        return hashlib.sha256(repr(rows.values_list(*names).first()).encode()).hexdigest()

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None or obj.pk is None:
            return super().get_form(request, obj, change=change, **kwargs)
        guard = self

        class StaleChecked(kwargs.get("form") or self.form):  # type: ignore[misc]
            _stale_token = forms.CharField(
                required=False, widget=forms.HiddenInput, initial=self.stale_fingerprint(obj.pk)
            )

            def clean(self) -> Any:
                cleaned = super().clean()
                seen = self.data.get(STALE_FIELD)
                if seen and seen != guard.stale_fingerprint(self.instance.pk, lock=True):
                    raise ValidationError(
                        _(
                            "Bản ghi này đã được người khác sửa trong lúc bạn sửa. Hãy tải lại "
                            "trang để xem bản mới rồi sửa lại."
                        ),
                        code="stale_version",
                    )
                return cleaned

        kwargs["form"] = StaleChecked
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """The token rides in the first fieldset (a hidden row) when the fieldsets are given
        explicitly; otherwise the form's own fields already include it."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not fieldsets or STALE_FIELD in flatten_fieldsets(fieldsets):
            return fieldsets
        (name, options), *rest = fieldsets
        return [(name, {**options, "fields": [*options["fields"], STALE_FIELD]}), *rest]


class GuardedHistoryAdmin(StaleEditGuard, SimpleHistoryAdmin):
    """simple-history's admin, its old versions viewable but never restored.

    Its "revert to this version" page saves the old row over the current one on a *view*
    permission alone: past ``has_change_permission`` (a published framework, a node of one),
    past the state machines (a published framework went back to draft) and past the audited
    services. A change is made on the change form, which keeps those rules (and refuses a
    stale page: ``StaleEditGuard``).
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
