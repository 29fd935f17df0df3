"""Agencies (cơ quan, đơn vị), their aliases and groups, and the portal's user accounts."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .text import normalize_name, to_nfc


def nfc_text_fields(obj: models.Model) -> None:
    """Puts ``obj``'s text fields (and the strings inside its ``nfc_json_fields``) in Unicode NFC.

    For rows written without ``save`` (``bulk_create``); ``NFCText`` does it on every save.
    Deferred fields are left alone (reading them would query), and a field is only assigned when
    its value changes (an FSM state field refuses any assignment).
    """
    json_fields = getattr(obj, "nfc_json_fields", ())
    deferred = obj.get_deferred_fields()
    for f in obj._meta.concrete_fields:
        if f.attname in deferred:
            continue
        if isinstance(f, models.CharField | models.TextField) or f.name in json_fields:
            value = getattr(obj, f.attname)
            normal = to_nfc(value)
            if normal != value:
                setattr(obj, f.attname, normal)


class NFCText(models.Model):
    """Text is stored in Unicode NFC, whatever sent it (``agencies.text.to_nfc``).

    The one storage choke point for every writer that saves a model: pages reading the POST,
    the admin, API serializers, services called from code. Importers that bulk-create rows
    already read their files in NFC (``agencies.spreadsheets``). JSON fields holding typed text
    are named in ``nfc_json_fields``; other JSON (computed scores) is not walked on every save.
    """

    nfc_json_fields: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        nfc_text_fields(self)
        super().save(*args, **kwargs)

    def full_clean(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        # Validated as it will be stored: a unique check of decomposed input against the stored
        # composed text would pass, then the database would refuse the row.
        nfc_text_fields(self)
        super().full_clean(*args, **kwargs)


class TimeStamped(NFCText):
    created_at = models.DateTimeField(_("tạo lúc"), auto_now_add=True)
    updated_at = models.DateTimeField(_("cập nhật lúc"), auto_now=True)

    class Meta:
        abstract = True


class Agency(TimeStamped):
    """A responsible body: a department (sở), a commune/ward, the police, a telecom company...

    ``normalized_name`` is the match key of ``name`` (see ``agencies.text.normalize_name``); it is
    kept in sync on save so lookups and diacritic-insensitive search run in the database.
    """

    class Kind(models.TextChoices):
        DEPARTMENT = "department", _("Sở, ban, ngành")
        COMMUNE = "commune", _("UBND xã, phường")
        PARTY = "party", _("Cơ quan Đảng")
        POLICE = "police", _("Công an")
        ENTERPRISE = "enterprise", _("Doanh nghiệp, đơn vị ngoài")
        OTHER = "other", _("Khác")

    code = models.SlugField(_("mã"), max_length=50, unique=True)
    name = models.CharField(_("tên đầy đủ"), max_length=255)
    short_name = models.CharField(_("tên viết tắt"), max_length=100, blank=True)
    kind = models.CharField(_("loại"), max_length=20, choices=Kind.choices, default=Kind.DEPARTMENT)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("đơn vị cấp trên"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    head_email = models.EmailField(_("email thủ trưởng"), blank=True)
    is_active = models.BooleanField(_("đang hoạt động"), default=True)
    normalized_name = models.CharField(max_length=255, editable=False, db_index=True)
    search_text = models.TextField(editable=False, default="")

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("cơ quan")
        verbose_name_plural = _("cơ quan")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["normalized_name"], name="agency_unique_normalized_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.normalized_name = normalize_name(self.name)
        self.search_text = self.build_search_text()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """A name already used by another agency, or as another agency's alias, is refused in
        words (``normalized_name`` is not a form field, so a model form never checks its
        constraint: the database would refuse the row)."""
        super().clean()
        key = normalize_name(self.name)
        if key and name_owners(key) - {("agency", self.pk)}:
            raise ValidationError({"name": _("Cơ quan “%(name)s” đã có.") % {"name": self.name}})

    def build_search_text(self) -> str:
        """Name, short name, code and aliases, normalised (no diacritics, lowercase)."""
        parts = [self.normalized_name, normalize_name(self.short_name), normalize_name(self.code)]
        if self.pk:
            parts += list(
                AgencyAlias.objects.filter(agency_id=self.pk).values_list("normalized", flat=True)
            )
        return " | ".join(p for p in parts if p)

    def refresh_search_text(self) -> None:
        """Recomputes the derived search text (after an alias changed)."""
        Agency.objects.filter(pk=self.pk).update(search_text=self.build_search_text())

    @property
    def display_name(self) -> str:
        return self.short_name or self.name


class AgencyAlias(TimeStamped):
    """Another name of an agency ("Sở KH&CN" for "Sở Khoa học và Công nghệ"); matched normalised."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(_("tên gọi khác"), max_length=255)
    normalized = models.CharField(max_length=255, editable=False, unique=True)

    class Meta:
        verbose_name = _("tên gọi khác")
        verbose_name_plural = _("tên gọi khác")
        ordering = ["alias"]

    def __str__(self) -> str:
        return f"{self.alias} → {self.agency}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.normalized = normalize_name(self.alias)
        super().save(*args, **kwargs)
        self.agency.refresh_search_text()

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        agency = self.agency
        result = super().delete(*args, **kwargs)
        agency.refresh_search_text()
        return result

    def clean(self) -> None:
        """Refused in words rather than by the database: an alias already used (by this agency
        or another) or naming another agency or group."""
        super().clean()
        _refuse_taken_name(
            self.alias,
            owner=("agency", self.agency_id),
            same_table=AgencyAlias.objects.exclude(pk=self.pk),
            field="alias",
        )


class AgencyGroup(TimeStamped):
    """A named set of agencies ("Các sở, ban, ngành") used in assignments.

    Members are the active agencies whose kind is in ``kinds`` plus the explicit ``members``.
    """

    code = models.SlugField(_("mã"), max_length=50, unique=True)
    name = models.CharField(_("tên nhóm"), max_length=255)
    normalized_name = models.CharField(max_length=255, editable=False, unique=True)
    kinds = models.JSONField(_("gồm các loại cơ quan"), default=list, blank=True)
    members = models.ManyToManyField(
        Agency, verbose_name=_("thành viên"), blank=True, related_name="groups"
    )

    class Meta:
        verbose_name = _("nhóm cơ quan")
        verbose_name_plural = _("nhóm cơ quan")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.normalized_name = normalize_name(self.name)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """A group name already naming an agency or another group is refused in words."""
        super().clean()
        _refuse_taken_name(
            self.name,
            owner=("group", self.pk),
            same_table=None,  # the owner check covers other groups' names
            field="name",
        )

    def audit_state(self) -> dict[str, Any]:
        """What a change of the group is audited as (before → after): who it expands to."""
        return {
            "code": self.code,
            "name": self.name,
            "kinds": sorted(self.kinds or []),
            "members": sorted(self.members.values_list("pk", flat=True)),
        }

    def covers(self, agency: Agency) -> bool:
        """Whether ``agency`` is a member (by kind or explicitly). Uses prefetched members."""
        if not agency.is_active:
            return False
        if agency.kind in (self.kinds or []):
            return True
        return any(m.pk == agency.pk for m in self.members.all())

    def member_agencies(self) -> models.QuerySet[Agency]:
        """The active agencies this group expands to: by kind, plus the explicit members."""
        return (
            Agency.objects.filter(is_active=True)
            .filter(models.Q(kind__in=self.kinds or []) | models.Q(groups=self))
            .distinct()
        )


class AgencyGroupAlias(TimeStamped):
    """Another wording of a group ("Sở, ban, ngành" for "Các sở, ban, ngành"); matched normalised."""

    group = models.ForeignKey(AgencyGroup, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(_("tên gọi khác"), max_length=255)
    normalized = models.CharField(max_length=255, editable=False, unique=True)

    class Meta:
        verbose_name = _("tên gọi khác của nhóm")
        verbose_name_plural = _("tên gọi khác của nhóm")
        ordering = ["alias"]

    def __str__(self) -> str:
        return f"{self.alias} → {self.group}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.normalized = normalize_name(self.alias)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        _refuse_taken_name(
            self.alias,
            owner=("group", self.group_id),
            same_table=AgencyGroupAlias.objects.exclude(pk=self.pk),
            field="alias",
        )


def name_owners(key: str) -> set[tuple[str, int]]:
    """Who a normalised name already names: ``("agency", id)`` for an agency's name or alias,
    ``("group", id)`` for a group's. Agencies and groups share one namespace because the
    framework importer resolves a cell against both (as the directory import checks)."""
    owners = {
        ("agency", pk)
        for pk in Agency.objects.filter(normalized_name=key).values_list("pk", flat=True)
    }
    owners |= {
        ("agency", pk)
        for pk in AgencyAlias.objects.filter(normalized=key).values_list("agency_id", flat=True)
    }
    owners |= {
        ("group", pk)
        for pk in AgencyGroup.objects.filter(normalized_name=key).values_list("pk", flat=True)
    }
    owners |= {
        ("group", pk)
        for pk in AgencyGroupAlias.objects.filter(normalized=key).values_list("group_id", flat=True)
    }
    return owners


def _refuse_taken_name(
    text: str,
    *,
    owner: tuple[str, int | None],
    same_table: models.QuerySet[Any] | None,
    field: str,
) -> None:
    key = normalize_name(text)
    if not key:
        return
    duplicate = same_table is not None and same_table.filter(normalized=key).exists()
    if duplicate or name_owners(key) - {owner}:
        raise ValidationError({field: _("Tên “%(name)s” đã được dùng.") % {"name": text}})


class PortalUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):  # type: ignore[no-untyped-def,override]
        extra_fields.setdefault("role", User.Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(NFCText, AbstractUser):
    """A portal account. Agency staff belong to one agency; the role decides what they may do."""

    class Role(models.TextChoices):
        AGENCY_STAFF = "agency_staff", _("Cán bộ đầu mối")
        REVIEWER = "reviewer", _("Sở KH&CN (thẩm định)")
        LEADER = "leader", _("Lãnh đạo")
        COUNCIL = "council", _("Hội đồng thẩm định")
        ADMIN = "admin", _("Quản trị")

    full_name = models.CharField(_("họ và tên"), max_length=150, blank=True)
    agency = models.ForeignKey(
        Agency,
        verbose_name=_("cơ quan"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    role = models.CharField(
        _("vai trò"), max_length=20, choices=Role.choices, default=Role.AGENCY_STAFF
    )
    must_change_password = models.BooleanField(_("phải đổi mật khẩu"), default=False)
    email_notifications = models.BooleanField(_("nhận thông báo qua email"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PortalUserManager()  # type: ignore[misc]
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        verbose_name = _("tài khoản")
        verbose_name_plural = _("tài khoản")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role="agency_staff") | models.Q(agency__isnull=False),
                name="user_agency_staff_has_agency",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def is_agency_staff(self) -> bool:
        return self.role == self.Role.AGENCY_STAFF

    @property
    def is_reviewer(self) -> bool:
        """Sở KH&CN reviewers and administrators review, approve and manage frameworks."""
        return self.role in (self.Role.REVIEWER, self.Role.ADMIN)

    @property
    def is_leader(self) -> bool:
        return self.role == self.Role.LEADER

    @property
    def is_council(self) -> bool:
        """Appraisal council members (*Hội đồng thẩm định*): read the province like leaders, and
        confirm or adjust approved items' final points (``evidence.set_final``)."""
        return self.role == self.Role.COUNCIL

    @property
    def sees_province(self) -> bool:
        """Reviewers, admins, leaders and the appraisal council see the whole province (what was
        sent to the Sở); agency staff their agency."""
        return self.role in (
            self.Role.REVIEWER,
            self.Role.ADMIN,
            self.Role.LEADER,
            self.Role.COUNCIL,
        )


class AuditEvent(NFCText, models.Model):
    """An append-only record of an action that is not a submission transition (those have their
    own log): imports, publishing, period changes, downloads, exports, account changes.

    Rows cannot be changed or deleted through the application: ``save`` refuses updates and
    ``delete`` refuses always.
    """

    created_at = models.DateTimeField(_("lúc"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User,
        verbose_name=_("người thực hiện"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_role = models.CharField(_("vai trò"), max_length=20, blank=True)
    agency = models.ForeignKey(
        Agency,
        verbose_name=_("cơ quan"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("thao tác"), max_length=50, db_index=True)
    object_type = models.CharField(_("đối tượng"), max_length=50, blank=True)
    object_id = models.CharField(max_length=50, blank=True)
    object_repr = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    nfc_json_fields = ("data",)  # may quote what was typed (an alias)

    class Meta:
        verbose_name = _("nhật ký thao tác")
        verbose_name_plural = _("nhật ký thao tác")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%d/%m/%Y %H:%M} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None:
            raise PermissionError("Audit rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("Audit rows cannot be deleted.")
