"""Admin for frameworks (read-mostly: lifecycle goes through the pages and services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from .models import Crosswalk, Framework, Indicator, Measure


@admin.register(Framework)
class FrameworkAdmin(SimpleHistoryAdmin):
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


@admin.register(Indicator)
class IndicatorAdmin(SimpleHistoryAdmin):
    list_display = ["framework", "code", "level", "name", "max_points", "lead_agency"]
    list_filter = ["framework", "level"]
    search_fields = ["code", "name"]
    list_select_related = ["framework", "lead_agency"]
    inlines = [MeasureInline]
    filter_horizontal = ["coordinating_agencies", "coordinating_groups"]

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
    list_display = ["source", "source_code", "target", "target_code", "note"]
    list_filter = ["source", "target"]
