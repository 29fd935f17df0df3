"""Admin for agencies, groups, accounts (with bulk import + preview, export, MFA reset) and the
audit log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Model, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import content_disposition_header
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from dti_portal.admin_guards import GuardedHistoryAdmin, StaleEditGuard
from dti_portal.audit import audit_context
from dti_portal.errors import NotAllowed

from .accounts_io import export_accounts_xlsx, read_account_rows
from .models import Agency, AgencyAlias, AgencyGroup, AgencyGroupAlias, AuditEvent, User
from .services import accounts_import, audit, audit_diff, user_end_sessions, user_mfa_reset
from .spreadsheets import SpreadsheetError
from .text import normalize_name

# django-otp registers admin pages for its devices, where a device could be deleted (or one with
# a known key added) with no audit entry. MFA changes go through the audited services instead:
# users enrol and regenerate backup codes themselves, an administrator resets a user's MFA with
# the "reset MFA" action of the accounts list.
for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)


class _DistinctAliasesFormSet(BaseInlineFormSet):
    """Two rows of one form that normalise to the same alias are refused in words (each row's
    ``clean`` only sees what is already stored)."""

    def clean(self) -> None:
        super().clean()
        seen: set[str] = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if not data or data.get("DELETE"):
                continue
            key = normalize_name(data.get("alias") or "")
            if key and key in seen:
                form.add_error("alias", _("Tên “%(name)s” đã được dùng.") % {"name": data["alias"]})
            seen.add(key)


class _KeepAssigned(admin.ModelAdmin):
    """Django's deletion summary, with the sub-indicators that name one of the rows as a
    coordinator (``coordinated_indicators``) listed as protected: deleting it would silently
    drop it from their assignment (of a published framework too), which no history records.
    The lead agency is protected by its foreign key already."""

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Through the reverse relation: agencies may not import the indicators app.
        indicator_model = self.model._meta.get_field("coordinated_indicators").related_model
        label = capfirst(indicator_model._meta.verbose_name)
        for obj in objs:
            for ind in obj.coordinated_indicators.select_related("framework"):
                protected.append(f"{label}: {ind} ({ind.framework.code})")
        return deleted, counts, perms_needed, protected


class _AuditedDelete(admin.ModelAdmin):
    """Deletes, one page or a bulk action, write one audit entry per row with what it was
    (``delete_state``): these models keep no history table."""

    delete_action = ""

    def delete_state(self, obj: Any) -> dict[str, Any]:
        raise NotImplementedError

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        self.delete_queryset(request, self.model._default_manager.filter(pk=obj.pk))

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            audit(
                actor=request.user,  # type: ignore[arg-type]
                action=self.delete_action,
                obj=obj,
                data=self.delete_state(obj),
                request_id=getattr(request, "request_id", ""),
            )
        queryset.delete()


class AgencyAliasInline(admin.TabularInline):
    model = AgencyAlias
    formset = _DistinctAliasesFormSet
    extra = 1
    fields = ["alias"]


@admin.register(Agency)
class AgencyAdmin(_KeepAssigned, GuardedHistoryAdmin):
    list_display = ["name", "short_name", "code", "kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "short_name", "code", "search_text"]
    inlines = [AgencyAliasInline]

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        key = normalize_name(search_term)
        if key:
            for word in key.split():
                queryset = queryset.filter(search_text__contains=word)
            return queryset, False
        return super().get_search_results(request, queryset, search_term)


class AgencyGroupAliasInline(admin.TabularInline):
    model = AgencyGroupAlias
    formset = _DistinctAliasesFormSet
    extra = 1
    fields = ["alias"]


@admin.register(AgencyGroup)
class AgencyGroupAdmin(_KeepAssigned, _AuditedDelete, StaleEditGuard):
    """A group's kinds and members are who reports for every sub-indicator it coordinates: each
    change is audited (before → after), and a group still assigned is not deleted."""

    list_display = ["name", "code", "kinds"]
    filter_horizontal = ["members"]
    inlines = [AgencyGroupAliasInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        group = form.instance
        # The model is saved already, its members not yet: the stored row is the "before" of
        # code, name and kinds only when read before the save, hence ``form.initial``.
        before = (
            {
                "code": form.initial.get("code"),
                "name": form.initial.get("name"),
                "kinds": sorted(form.initial.get("kinds") or []),
                "members": group.audit_state()["members"],
            }
            if change
            else None
        )
        super().save_related(request, form, formsets, change)
        after = group.audit_state()
        if before is None:
            action, data = "agency_group.create", after
        else:
            action = "agency_group.update"
            data = audit_diff(before, after)
        if data:
            audit(
                actor=request.user,  # type: ignore[arg-type]
                action=action,
                obj=group,
                data=data,
                request_id=getattr(request, "request_id", ""),
            )

    delete_action = "agency_group.delete"

    def delete_state(self, obj: Any) -> dict[str, Any]:
        return obj.audit_state()


class AccountImportForm(forms.Form):
    file = forms.FileField(label=_("Tệp .csv hoặc .xlsx"))


class _AgencyStaffNeedsAgency(forms.ModelForm):
    """An agency staff account without an agency is refused on the agency field, in words
    (the database constraint would answer a 500 on the add page, or Django's English
    "Constraint … is violated" on the change page)."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        if (
            "role" in self.fields
            and "agency" in self.fields
            and cleaned.get("role") == User.Role.AGENCY_STAFF
            and not cleaned.get("agency")
        ):
            self.add_error("agency", _("Cán bộ đầu mối phải thuộc một cơ quan."))
        return cleaned


class PortalUserCreationForm(_AgencyStaffNeedsAgency, AdminUserCreationForm):
    pass


class PortalUserChangeForm(_AgencyStaffNeedsAgency, UserChangeForm):
    pass


def _permission_names(permissions: QuerySet[Permission]) -> list[str]:
    return sorted(
        f"{app}.{codename}"
        for app, codename in permissions.values_list("content_type__app_label", "codename")
    )


def _privileges(user: User) -> dict[str, Any]:
    """What opens the admin to an account, as the audit log records it."""
    return {
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "user_permissions": _permission_names(user.user_permissions.all()),
    }


if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(Group)
class AuditedGroupAdmin(_AuditedDelete, StaleEditGuard, DjangoGroupAdmin):
    """Django's permission groups, audited: a group's permissions open the admin to every
    member, so a change (before → after) and a deletion are audit entries, as for an account."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        group = form.instance
        # The group row is saved already, its permissions not yet.
        before = (
            {
                "name": form.initial.get("name"),
                "permissions": _permission_names(Permission.objects.filter(group=group)),
            }
            if change
            else {}
        )
        super().save_related(request, form, formsets, change)
        after = {"name": group.name, "permissions": _permission_names(group.permissions.all())}
        data = audit_diff(before, after) if change else after
        if data:
            audit(
                actor=request.user,  # type: ignore[arg-type]
                action="group.update" if change else "group.create",
                obj=group,
                data=data,
                request_id=getattr(request, "request_id", ""),
            )

    delete_action = "group.delete"

    def delete_state(self, obj: Any) -> dict[str, Any]:
        return {"name": obj.name, "permissions": _permission_names(obj.permissions.all())}


@admin.register(User)
# UserAdmin.get_form takes ``change`` in its **kwargs, StaleEditGuard's as ModelAdmin's does:
# the two pass it on alike.
class PortalUserAdmin(DjangoUserAdmin, GuardedHistoryAdmin):  # type: ignore[misc]
    list_display = ["username", "full_name", "agency", "role", "is_active", "must_change_password"]
    list_filter = ["role", "is_active", "agency__kind"]
    search_fields = ["username", "full_name", "email", "agency__name"]
    list_select_related = ["agency"]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Cổng DTI"), {"fields": ("full_name", "agency", "role", "must_change_password")}),
    )
    # The add page asks for the agency and the role too: an account is created with them.
    add_fieldsets = (
        *(DjangoUserAdmin.add_fieldsets or ()),
        (_("Cổng DTI"), {"fields": ("full_name", "email", "agency", "role")}),
    )
    form = PortalUserChangeForm
    add_form = PortalUserCreationForm
    actions = ["export_selected", "reset_mfa"]
    # A sign-in is no edit: a change form open meanwhile is not stale for it.
    stale_ignore_fields = ("last_login",)
    change_list_template = "agencies/admin/user_changelist.html"

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """Creating an account and changing its role are audited; deactivating a user or
        moving them to another agency ends their sessions (audited)."""
        before = (
            User.objects.filter(pk=obj.pk).values("is_active", "agency_id", "role").first()
            if change
            else None
        )
        if change:
            # Compared with the saved groups and permissions in ``save_related``.
            form.privileges_before = _privileges(User.objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)
        rid = getattr(request, "request_id", "")
        if before is None:
            audit(
                actor=request.user,  # type: ignore[arg-type]
                action="user.create",
                obj=obj,
                data={"role": obj.role, "agency": obj.agency_id},
                request_id=rid,
            )
            return
        if before["role"] != obj.role:
            audit(
                actor=request.user,  # type: ignore[arg-type]
                action="user.role_change",
                obj=obj,
                data={"from": before["role"], "to": obj.role},
                request_id=rid,
            )
        if before["is_active"] and not obj.is_active:
            audit(actor=request.user, action="user.deactivate", obj=obj, request_id=rid)  # type: ignore[arg-type]
            user_end_sessions(actor=request.user, user=obj, reason="deactivated", request_id=rid)  # type: ignore[arg-type]
        elif before["agency_id"] != obj.agency_id:
            audit(
                actor=request.user,  # type: ignore[arg-type]
                action="user.move_agency",
                obj=obj,
                data={"from": before["agency_id"], "to": obj.agency_id},
                request_id=rid,
            )
            user_end_sessions(actor=request.user, user=obj, reason="agency_changed", request_id=rid)  # type: ignore[arg-type]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Admin rights given or taken on the change form (staff, superuser, groups,
        permissions) are audited like a role change."""
        super().save_related(request, form, formsets, change)
        before = getattr(form, "privileges_before", None)
        if before is None:
            return
        after = _privileges(form.instance)
        diff = audit_diff(before, after)
        if diff:
            audit(
                actor=request.user,  # type: ignore[arg-type]
                action="user.privileges_change",
                obj=form.instance,
                data=diff,
                request_id=getattr(request, "request_id", ""),
            )

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """Django's "set password" page, audited when the password changed (never the
        password)."""
        user = self.get_object(request, unquote(id)) if request.method == "POST" else None
        before = user.password if user is not None else None
        response = super().user_change_password(request, id, form_url)
        if user is not None:
            after = User.objects.filter(pk=user.pk).values_list("password", flat=True).first()
            if after != before:
                audit(
                    actor=request.user,  # type: ignore[arg-type]
                    action="user.password_set",
                    obj=user,
                    request_id=getattr(request, "request_id", ""),
                )
        return response

    @admin.action(description=_("Xuất các tài khoản đã chọn (.xlsx)"))
    def export_selected(self, request: HttpRequest, queryset: Any) -> HttpResponse:
        users = list(queryset.select_related("agency"))
        audit(actor=request.user, action="accounts.export", data={"count": len(users)})  # type: ignore[arg-type]
        response = HttpResponse(
            export_accounts_xlsx(users),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = content_disposition_header(True, "tai-khoan.xlsx")
        return response

    @admin.action(description=_("Đặt lại xác thực hai lớp (mất điện thoại)"))
    def reset_mfa(self, request: HttpRequest, queryset: Any) -> None:
        """Deletes the selected users' TOTP devices and backup codes (audited, sessions ended):
        they enrol again at their next login."""
        done = 0
        try:
            with audit_context(request):
                for user in queryset:
                    user_mfa_reset(actor=request.user, user=user)  # type: ignore[arg-type]
                    done += 1
        except NotAllowed as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(
            request,
            _("Đã đặt lại xác thực hai lớp của %(count)d tài khoản.") % {"count": done},
            messages.SUCCESS,
        )

    def get_urls(self) -> list[Any]:
        extra = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="agencies_user_import",
            ),
        ]
        return extra + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload → preview (a dry run of the same service as ``import_accounts``) → confirm.
        The parsed rows wait in the session between preview and confirm."""
        if not request.user.has_perm("agencies.manage_accounts"):
            messages.error(request, _("Bạn không có quyền nhập tài khoản."))
            return redirect("admin:index")
        key = "account_import_rows"
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
        }
        if request.method == "POST" and request.POST.get("action") == "confirm":
            rows = request.session.pop(key, None)
            if not rows:
                messages.error(request, _("Phiên xem trước đã hết hạn, hãy tải tệp lên lại."))
                return redirect("admin:agencies_user_import")
            result = accounts_import(
                actor=request.user,  # type: ignore[arg-type]
                rows=rows,
                request_id=getattr(request, "request_id", ""),
            )
            context.update({"result": result, "done": True, "form": AccountImportForm()})
            return render(request, "agencies/admin/user_import.html", context)
        form = AccountImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                rows = read_account_rows(upload.read(), upload.name)
            except SpreadsheetError as exc:
                form.add_error("file", str(exc))
            else:
                result = accounts_import(actor=request.user, rows=rows, dry_run=True)  # type: ignore[arg-type]
                if result.ok:
                    request.session[key] = rows
                context["result"] = result
        context["form"] = form
        return render(request, "agencies/admin/user_import.html", context)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "action", "actor", "actor_role", "object_repr", "request_id"]
    list_filter = ["action", "actor_role"]
    search_fields = ["object_repr", "action"]
    list_select_related = ["actor"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
