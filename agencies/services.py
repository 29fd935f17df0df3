"""Writes on agencies and accounts. Keyword-only, typed, atomic and audited."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from dti_portal.audit import current_request_id
from dti_portal.errors import NotAllowed, ValidationFailed

from .models import Agency, AgencyAlias, AuditEvent, User
from .text import normalize_name, strip_diacritics


def audit(
    *,
    actor: User | None,
    action: str,
    obj: Model | None = None,
    data: dict[str, Any] | None = None,
    request_id: str = "",
    agency: Agency | None = None,
) -> AuditEvent:
    """Appends one audit row: the one writer of ``AuditEvent`` for every app.

    The actor's role and agency are copied at the time of the action; ``agency`` names another
    agency when the action concerns one (an item reopened for an agency, its evidence removed).
    ``object_type`` is the model's ``app_label.model``, so the audit log can name it in words.
    The request id defaults to the current request's (:func:`dti_portal.audit.audit_context`).
    """
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_role=getattr(actor, "role", "") or "",
        agency_id=agency.pk if agency is not None else getattr(actor, "agency_id", None),
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:255] if obj is not None else "",
        data=data or {},
        request_id=request_id or current_request_id(),
    )


def audit_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The keys whose values changed, as an audit entry records them: ``{key: {from, to}}``."""
    return {k: {"from": before.get(k), "to": v} for k, v in after.items() if before.get(k) != v}


def _require_reviewer(actor: User) -> None:
    if not (actor.is_authenticated and actor.is_reviewer):
        raise NotAllowed(_("Chỉ Sở KH&CN hoặc quản trị viên được thực hiện thao tác này."))


def unique_agency_code(name: str) -> str:
    """A free slug for a new agency ("Sở Xây dựng" → "so-xay-dung", then "-2", "-3"...)."""
    base = slugify(strip_diacritics(name))[:45] or "co-quan"
    code, n = base, 1
    while Agency.objects.filter(code=code).exists():
        n += 1
        code = f"{base}-{n}"
    return code


@transaction.atomic
def agency_create(
    *,
    actor: User | None,
    name: str,
    kind: str = Agency.Kind.OTHER,
    short_name: str = "",
    code: str = "",
    request_id: str = "",
) -> Agency:
    """Creates an agency; refuses a name (or alias) that already exists after normalisation."""
    key = normalize_name(name)
    if not key:
        raise ValidationFailed(errors={"name": [_("Tên cơ quan không được để trống.")]})
    too_long = {
        "name": _("Tên cơ quan dài quá %(max)s ký tự."),
        "short_name": _("Tên viết tắt dài quá %(max)s ký tự."),
    }
    for field_name, value in (("name", name), ("short_name", short_name)):
        limit = getattr(Agency._meta.get_field(field_name), "max_length", None) or 0
        if len(value.strip()) > limit:
            raise ValidationFailed(errors={field_name: [too_long[field_name] % {"max": limit}]})
    if (
        Agency.objects.filter(normalized_name=key).exists()
        or AgencyAlias.objects.filter(normalized=key).exists()
    ):
        raise ValidationFailed(errors={"name": [_("Cơ quan “%(name)s” đã có.") % {"name": name}]})
    agency = Agency.objects.create(
        code=code or unique_agency_code(name), name=name.strip(), short_name=short_name, kind=kind
    )
    audit(actor=actor, action="agency.create", obj=agency, request_id=request_id)
    return agency


@transaction.atomic
def agency_alias_add(
    *, actor: User | None, agency: Agency, alias: str, request_id: str = ""
) -> AgencyAlias | None:
    """Declares another name of ``agency``; no-op when it already names this agency."""
    key = normalize_name(alias)
    if not key or key == agency.normalized_name:
        return None
    limit = AgencyAlias._meta.get_field("alias").max_length or 0
    if len(alias.strip()) > limit:
        raise ValidationFailed(
            errors={"alias": [_("Tên gọi khác dài quá %(max)s ký tự.") % {"max": limit}]}
        )
    existing = AgencyAlias.objects.filter(normalized=key).first()
    if existing is not None:
        if existing.agency_id == agency.pk:
            return None
        raise ValidationFailed(
            errors={
                "alias": [
                    _("Tên “%(alias)s” đã là tên gọi khác của %(agency)s.")
                    % {"alias": alias, "agency": existing.agency}
                ]
            }
        )
    if Agency.objects.filter(normalized_name=key).exclude(pk=agency.pk).exists():
        raise ValidationFailed(
            errors={"alias": [_("Tên “%(alias)s” là tên của cơ quan khác.") % {"alias": alias}]}
        )
    row = AgencyAlias.objects.create(agency=agency, alias=alias.strip())
    audit(
        actor=actor,
        action="agency.alias_add",
        obj=agency,
        data={"alias": alias},
        request_id=request_id,
    )
    return row


# --- sessions -----------------------------------------------------------------------------------


def _end_sessions(user: User) -> int:
    """Deletes the user's browser sessions and API tokens; returns how many were removed."""
    from knox.models import AuthToken

    removed = 0
    uid = str(user.pk)
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == uid:
            session.delete()
            removed += 1
    removed += AuthToken.objects.filter(user=user).delete()[0]
    return removed


@transaction.atomic
def user_end_sessions(*, actor: User | None, user: User, reason: str, request_id: str = "") -> int:
    """Logs ``user`` out everywhere (sessions and knox tokens), audited."""
    removed = _end_sessions(user)
    audit(
        actor=actor,
        action="user.sessions_ended",
        obj=user,
        data={"reason": reason, "removed": removed},
        request_id=request_id,
    )
    return removed


@transaction.atomic
def user_password_changed(*, user: User, request_id: str = "") -> User:
    """After a user chose their own password: a temporary one (from an account import) no
    longer has to be changed; audited (never the password). The password itself is set by
    Django's form (and history)."""
    if user.must_change_password:
        user.must_change_password = False
        user.save(update_fields=["must_change_password", "updated_at"])
    audit(actor=user, action="user.password_change", obj=user, request_id=request_id)
    return user


@transaction.atomic
def user_deactivate(*, actor: User, user: User, request_id: str = "") -> User:
    """Deactivates an account and ends its sessions."""
    _require_reviewer(actor)
    user.is_active = False
    user.save(update_fields=["is_active", "updated_at"])
    audit(actor=actor, action="user.deactivate", obj=user, request_id=request_id)
    user_end_sessions(actor=actor, user=user, reason="deactivated", request_id=request_id)
    return user


@transaction.atomic
def user_move_agency(*, actor: User, user: User, agency: Agency, request_id: str = "") -> User:
    """Moves an account to another agency and ends its sessions (its scope changed)."""
    _require_reviewer(actor)
    old = user.agency_id
    user.agency = agency
    user.save(update_fields=["agency", "updated_at"])
    audit(
        actor=actor,
        action="user.move_agency",
        obj=user,
        data={"from": old, "to": agency.pk},
        request_id=request_id,
    )
    user_end_sessions(actor=actor, user=user, reason="agency_changed", request_id=request_id)
    return user


# --- MFA (django-otp devices) ------------------------------------------------------------------
# The TOTP device and the backup codes are django-otp's own models (otp_totp, otp_static); these
# services only decide when they are created or removed, and audit it. The codes themselves are
# returned to the caller to be shown once, and never written to the audit log or any log.

BACKUP_CODE_COUNT = 10
BACKUP_DEVICE_NAME = "backup"


@sensitive_variables("codes", "code")
def _replace_backup_codes(user: User, *, action: str, request_id: str) -> list[str]:
    """Deletes the user's backup codes and creates ``BACKUP_CODE_COUNT`` new single-use ones
    (django-otp's StaticDevice: a matched StaticToken is deleted when used); audits ``action``
    with how many codes were made, never the codes."""
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    # The device is kept (its tokens replaced): a session verified with one of the old codes
    # refers to it, and would otherwise stop being verified by its own regeneration.
    device = StaticDevice.objects.filter(user=user).order_by("pk").first()
    if device is None:
        device = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
    else:
        StaticDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        if not device.confirmed:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
        StaticToken.objects.filter(device=device).delete()
    codes: list[str] = []
    while len(codes) < BACKUP_CODE_COUNT:
        code = StaticToken.random_token()
        if code not in codes:
            codes.append(code)
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    audit(
        actor=user,
        action=action,
        obj=user,
        data={"backup_codes": len(codes)},
        request_id=request_id,
    )
    return codes


@transaction.atomic
def user_mfa_enrol(*, user: User, device: Any, request_id: str = "") -> list[str]:
    """Confirms ``user``'s TOTP ``device`` (its first code was already verified by the caller:
    the device's throttling must persist even when the code is wrong, so it is not done inside
    this transaction), drops their other unconfirmed devices and gives them new backup codes.
    Returns the codes, to be shown once."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if not isinstance(device, TOTPDevice) or device.user_id != user.pk:
        raise NotAllowed(_("Thiết bị xác thực không thuộc tài khoản này."))
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return _replace_backup_codes(user, action="user.mfa_enrol", request_id=request_id)


@transaction.atomic
def user_backup_codes_regenerate(*, user: User, request_id: str = "") -> list[str]:
    """Replaces ``user``'s backup codes (the old ones stop working); returns the new ones, to be
    shown once. Only for a user with a confirmed TOTP device (the caller checks the session was
    verified)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise NotAllowed(_("Hãy bật xác thực hai lớp trước khi tạo mã dự phòng."))
    return _replace_backup_codes(user, action="user.backup_codes_regenerate", request_id=request_id)


@transaction.atomic
def user_backup_code_used(*, user: User, request_id: str = "") -> int:
    """Records that ``user`` signed in with a backup code (already consumed by django-otp);
    returns how many codes are left."""
    from django_otp.plugins.otp_static.models import StaticToken

    left = StaticToken.objects.filter(device__user=user).count()
    audit(
        actor=user,
        action="user.backup_code_used",
        obj=user,
        data={"left": left},
        request_id=request_id,
    )
    return left


@transaction.atomic
def user_mfa_reset(*, actor: User, user: User, request_id: str = "") -> int:
    """An administrator's reset of ``user``'s MFA (a lost phone): deletes their TOTP devices and
    backup codes and ends their sessions and API tokens; they enrol again at their next login.
    Returns how many devices were removed."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if not (actor.is_authenticated and (actor.role == User.Role.ADMIN or actor.is_superuser)):
        raise NotAllowed(_("Chỉ quản trị viên được đặt lại xác thực hai lớp."))
    totp = TOTPDevice.objects.filter(user=user).delete()[1].get(TOTPDevice._meta.label, 0)
    static = StaticDevice.objects.filter(user=user).delete()[1].get(StaticDevice._meta.label, 0)
    audit(
        actor=actor,
        action="user.mfa_reset",
        obj=user,
        data={"totp_devices": totp, "backup_code_sets": static},
        request_id=request_id,
    )
    user_end_sessions(actor=actor, user=user, reason="mfa_reset", request_id=request_id)
    return totp + static


# --- accounts in bulk ---------------------------------------------------------------------------

ACCOUNT_COLUMNS = ("username", "full_name", "email", "agency", "role", "password")


@dataclass
class AccountRowResult:
    row: int
    username: str
    action: str  # "create" | "update"
    role: str
    agency: str
    generated_password: str = ""


@dataclass
class AccountImportResult:
    rows: list[AccountRowResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def resolve_agency(value: str) -> Agency | None:
    """An agency by code, name, short name or alias (normalised)."""
    value = (value or "").strip()
    if not value:
        return None
    by_code = Agency.objects.filter(code=value).first()
    if by_code is not None:
        return by_code
    key = normalize_name(value)
    agency = Agency.objects.filter(normalized_name=key).first()
    if agency is not None:
        return agency
    alias = AgencyAlias.objects.select_related("agency").filter(normalized=key).first()
    if alias is not None:
        return alias.agency
    for a in Agency.objects.exclude(short_name=""):
        if normalize_name(a.short_name) == key:
            return a
    return None


def _row_username(row: dict[str, str]) -> str:
    """The row's username as the login form reads a typed one (NFKC: a file saved with
    decomposed Vietnamese letters names the same account)."""
    return User.normalize_username((row.get("username") or "").strip())


def _row_full_name(row: dict[str, str]) -> str:
    return (row.get("full_name") or "").strip()  # in NFC: read so, and stored so


def _too_long(field_name: str, value: str) -> bool:
    return len(value) > (getattr(User._meta.get_field(field_name), "max_length", None) or 0)


def _check_account_row(n: int, row: dict[str, str], seen: set[str]) -> tuple[list[str], Any]:
    errors: list[str] = []
    username = _row_username(row)
    role = (row.get("role") or "").strip()
    email = (row.get("email") or "").strip()
    agency_value = (row.get("agency") or "").strip()
    password = row.get("password") or ""
    prefix = _("Dòng %(n)s") % {"n": n}
    if not username:
        errors.append(_("%(p)s: thiếu tên đăng nhập (username).") % {"p": prefix})
    elif _too_long("username", username):
        errors.append(
            _("%(p)s: tên đăng nhập dài quá %(max)s ký tự.")
            % {"p": prefix, "max": User._meta.get_field("username").max_length}
        )
    elif username.lower() in seen:
        errors.append(
            _("%(p)s: tên đăng nhập “%(u)s” lặp lại trong tệp.") % {"p": prefix, "u": username}
        )
    else:
        try:
            User.username_validator(username)
        except ValidationError:
            errors.append(
                _("%(p)s: tên đăng nhập “%(u)s” không hợp lệ.") % {"p": prefix, "u": username}
            )
    seen.add(username.lower())
    if role not in User.Role.values:
        errors.append(
            _(
                "%(p)s: vai trò “%(r)s” không hợp lệ (agency_staff, reviewer, leader, council, admin)."
            )
            % {"p": prefix, "r": role}
        )
    if _too_long("full_name", _row_full_name(row)):
        errors.append(
            _("%(p)s: họ và tên dài quá %(max)s ký tự.")
            % {"p": prefix, "max": User._meta.get_field("full_name").max_length}
        )
    if email and _too_long("email", email):
        errors.append(
            _("%(p)s: email dài quá %(max)s ký tự.")
            % {"p": prefix, "max": User._meta.get_field("email").max_length}
        )
    elif email:
        try:
            validate_email(email)
        except ValidationError:
            errors.append(_("%(p)s: email “%(e)s” không hợp lệ.") % {"p": prefix, "e": email})
    agency = resolve_agency(agency_value) if agency_value else None
    if agency_value and agency is None:
        errors.append(
            _("%(p)s: không tìm thấy cơ quan “%(a)s”.") % {"p": prefix, "a": agency_value}
        )
    if role == User.Role.AGENCY_STAFF and not agency_value:
        errors.append(_("%(p)s: cán bộ đầu mối phải thuộc một cơ quan.") % {"p": prefix})
    if password:
        try:
            validate_password(password, User(username=username, email=email))
        except ValidationError as exc:
            errors.append(
                _("%(p)s: mật khẩu không đạt yêu cầu: %(m)s")
                % {"p": prefix, "m": " ".join(exc.messages)}
            )
    return errors, agency


@transaction.atomic
def accounts_import(
    *,
    actor: User | None,
    rows: list[dict[str, str]],
    dry_run: bool = False,
    first_row: int = 2,
    request_id: str = "",
) -> AccountImportResult:
    """Creates or updates accounts from rows (``ACCOUNT_COLUMNS``). All-or-nothing: any bad row
    → nothing is written and ``errors`` lists every problem with its row number.

    An empty password generates one (returned once, in ``generated_password``); either way a
    password set by a person in the portal is temporary (the user must change it at first
    login); only the console hands out final passwords. Moving an existing user to another agency or deactivating ends
    their sessions. ``actor`` None means the command line (an administrator at the console).
    """
    if actor is not None:
        _require_reviewer(actor)
    result = AccountImportResult(dry_run=dry_run)
    seen: set[str] = set()
    checked = []
    # A reviewer may not create an administrator nor change one's account (role, password):
    # that would be a way up to admin. Administrators and the console may.
    guard_admins = actor is not None and actor.role != User.Role.ADMIN
    admins = (
        {
            u.lower()
            for u in User.objects.filter(role=User.Role.ADMIN).values_list("username", flat=True)
        }
        if guard_admins
        else set()
    )
    for i, row in enumerate(rows):
        n = int(row.get("_row") or first_row + i)
        errors, agency = _check_account_row(n, row, seen)
        username = _row_username(row)
        if guard_admins and (
            (row.get("role") or "").strip() == User.Role.ADMIN or username.lower() in admins
        ):
            errors.append(
                _("Dòng %(n)s: chỉ quản trị viên mới được tạo hoặc sửa tài khoản quản trị (%(u)s).")
                % {"n": n, "u": username}
            )
        result.errors.extend(errors)
        checked.append((n, row, agency))
    if not rows:
        result.errors.append(_("Tệp không có dòng dữ liệu nào."))
    if result.errors:
        return result
    for n, row, agency in checked:
        username = _row_username(row)
        role = row["role"].strip()
        user = User.objects.filter(username__iexact=username).first()
        action = "update" if user is not None else "create"
        generated = ""
        password = row.get("password") or ""
        if action == "create" and not password:
            generated = secrets.token_urlsafe(9)
        result.rows.append(
            AccountRowResult(
                row=n,
                username=username,
                action=action,
                role=role,
                agency=str(agency or "—"),
                generated_password=generated,
            )
        )
        if dry_run:
            continue
        moved = user is not None and user.agency_id != (agency.pk if agency else None)
        data: dict[str, Any] = {
            "row": n,
            "role": role,
            "agency": agency.pk if agency else None,
            "password_set": bool(password or generated),
        }
        if user is None:
            user = User(username=username)
        else:
            # What the row replaces: the audit keeps from → to.
            data["from"] = {
                "role": user.role,
                "agency": user.agency_id,
                "is_staff": user.is_staff,
            }
        user.full_name = _row_full_name(row) or user.full_name
        user.email = (row.get("email") or "").strip() or user.email
        user.role = role
        user.agency = agency
        user.is_staff = user.is_superuser = role == User.Role.ADMIN
        if password or generated:
            user.set_password(password or generated)
            # A password someone else chose in the portal is temporary: its owner replaces it
            # at first login, so nobody keeps a working password to another person's account
            # unnoticed. The console (IT staff setting up accounts) may hand out final ones.
            user.must_change_password = bool(generated) or actor is not None
        user.save()
        audit(
            actor=actor,
            action=f"user.import_{action}",
            obj=user,
            data=data,
            request_id=request_id,
        )
        if moved:
            user_end_sessions(
                actor=actor, user=user, reason="agency_changed", request_id=request_id
            )
    if dry_run:
        transaction.set_rollback(True)
    return result
