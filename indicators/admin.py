"""Admin for frameworks (read-mostly: lifecycle goes through the pages and services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from agencies.services import audit, audit_diff
from dti_portal.admin_guards import GuardedHistoryAdmin
from dti_portal.audit import audit_context

from .models import Crosswalk, Framework, Indicator, Measure
from .services import crosswalk_delete, indicator_audit_state


@admin.register(Framework)
class FrameworkAdmin(GuardedHistoryAdmin):
    list_display = ["code", "name", "year", "status", "total_points", "published_at"]
    list_filter = ["status", "year", "unit_type"]
    readonly_fields = ["status", "published_at", "previous_version", "created_by"]
    search_fields = ["code", "name"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """A published or archived framework is immutable (its total is the DTI divisor of
        every snapshot computed from it): a change makes a new draft version."""
        if obj is not None and obj.status != Framework.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.status != Framework.Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)


class MeasureInline(admin.TabularInline):
    model = Measure
    extra = 0


class IndicatorAdminForm(forms.ModelForm):
    """A node's parent is a node of its own framework (the choices list every draft's nodes)."""

    class Meta:
        model = Indicator
        fields = "__all__"  # noqa: DJ007 (the admin's own field list)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        framework = cleaned.get("framework") or getattr(self.instance, "framework", None)
        parent = cleaned.get("parent")
        if parent is not None and framework is not None and parent.framework_id != framework.pk:
            self.add_error("parent", _("Chỉ số cha phải thuộc cùng bộ chỉ số."))
        return cleaned


@admin.register(Indicator)
class IndicatorAdmin(GuardedHistoryAdmin):
    list_display = ["framework", "code", "level", "name", "max_points", "lead_agency"]
    list_filter = ["framework", "level"]
    search_fields = ["code", "name"]
    list_select_related = ["framework", "lead_agency"]
    inlines = [MeasureInline]
    filter_horizontal = ["coordinating_agencies", "coordinating_groups"]
    form = IndicatorAdminForm

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """A node stays in its framework: moving it would change two trees at once (and put it
        into a published one)."""
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "framework"] if obj is not None else readonly

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """Only drafts are offered: a node added to (or hung under a node of) a published
        framework would change it in place."""
        if db_field.name == "framework":
            kwargs["queryset"] = Framework.objects.filter(status=Framework.Status.DRAFT)
        elif db_field.name == "parent":
            kwargs["queryset"] = Indicator.objects.filter(
                framework__status=Framework.Status.DRAFT
            ).select_related("framework")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _audited_fields(self, form: Any) -> list[str]:
        return [f.name for f in Indicator._meta.concrete_fields if f.name in form.base_fields]

    def save_model(self, request: HttpRequest, obj: Indicator, form: Any, change: bool) -> None:
        if change:
            # Read before the save; compared with the saved node, measures and coordinators
            # (saved after the row) in ``save_related``.
            form.audit_before = indicator_audit_state(
                Indicator.objects.get(pk=obj.pk), self._audited_fields(form)
            )
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """An edit here is audited as the edit page's is (``indicator.update``, from → to)."""
        super().save_related(request, form, formsets, change)
        before = getattr(form, "audit_before", None)
        if before is None:
            return
        diff = audit_diff(before, indicator_audit_state(form.instance, self._audited_fields(form)))
        if diff:
            audit(
                actor=request.user,  # type: ignore[arg-type]
                action="indicator.update",
                obj=form.instance,
                data=diff,
                request_id=getattr(request, "request_id", ""),
            )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """A published framework is immutable: only drafts are editable here."""
        if obj is not None and obj.framework.status != Framework.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.framework.status != Framework.Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Crosswalk)
class CrosswalkAdmin(admin.ModelAdmin):
    """Crosswalks are made on the versions comparison page (``crosswalk_create``, audited); here
    they are viewed, and a wrong row is deleted through the audited service."""

    list_display = ["source", "source_code", "target", "target_code", "note"]
    list_filter = ["source", "target"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Crosswalk) -> None:
        self.delete_queryset(request, Crosswalk.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Crosswalk]) -> None:
        with audit_context(request):
            crosswalk_delete(actor=request.user, crosswalks=queryset)  # type: ignore[arg-type]
