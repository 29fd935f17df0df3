"""Indicator frameworks (bộ chỉ số): versions, their tree, measures, assignments, crosswalks."""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition
from simple_history.models import HistoricalRecords

from agencies.models import Agency, AgencyGroup, TimeStamped

_CODE_PART = re.compile(r"(\d+)|(\D+)")


def natural_sort_key(code: str) -> str:
    """A string that sorts codes naturally in the database: "4.2" < "4.10", "I" < "II".

    Each numeric part is zero-padded to 6 digits; other parts are kept lowercase.
    """
    parts = []
    for num, text in _CODE_PART.findall(code.strip().rstrip(".")):
        parts.append(num.zfill(6) if num else text.lower())
    return "".join(parts)


class Framework(TimeStamped):
    """A version of an indicator framework (e.g. the 2025 provincial set, Decision 405/QĐ-BKHCN).

    Rules: a published framework is immutable (edits go to a new draft version); main indices'
    max points add up to ``total_points``; each node's children add up to the node.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Bản nháp")
        PUBLISHED = "published", _("Đã ban hành")
        ARCHIVED = "archived", _("Lưu trữ")

    class UnitType(models.TextChoices):
        PROVINCE = "province", _("Cấp tỉnh")
        DEPARTMENT = "department", _("Sở, ban, ngành")
        COMMUNE = "commune", _("Cấp xã")

    code = models.SlugField(_("mã"), max_length=50, unique=True)
    name = models.CharField(_("tên bộ chỉ số"), max_length=255)
    year = models.PositiveIntegerField(_("năm"))
    decision = models.CharField(_("văn bản ban hành"), max_length=255, blank=True)
    unit_type = models.CharField(
        _("đối tượng đánh giá"), max_length=20, choices=UnitType.choices, default=UnitType.PROVINCE
    )
    total_points = models.DecimalField(
        _("tổng điểm"), max_digits=9, decimal_places=2, default=Decimal("1000")
    )
    status = FSMField(_("trạng thái"), default=Status.DRAFT, choices=Status.choices, protected=True)
    previous_version = models.ForeignKey(
        "self",
        verbose_name=_("phiên bản trước"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="next_versions",
    )
    source_file_name = models.CharField(_("tệp nguồn"), max_length=255, blank=True)
    published_at = models.DateTimeField(_("ban hành lúc"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("bộ chỉ số")
        verbose_name_plural = _("bộ chỉ số")
        ordering = ["-year", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT

    @transition(field=status, source=Status.DRAFT, target=Status.PUBLISHED)
    def publish(self) -> None:
        """Guarded by the service (points add up); after this the tree is immutable."""

    @transition(field=status, source=Status.PUBLISHED, target=Status.ARCHIVED)
    def archive(self) -> None:
        """An archived framework stays readable for trends and comparisons."""


class Indicator(TimeStamped):
    """A node of a framework's tree: group, main index (pillar), sub-indicator or criterion.

    Sub-indicators carry the reporting: measures, the scoring rule (a validated JSON definition,
    see ``indicators.scoring_rules``), the official wording of the scoring method, the lead
    agency and the coordinating agencies and groups (the assignment for this framework version).
    """

    class Level(models.TextChoices):
        GROUP = "group", _("Nhóm")
        MAIN = "main", _("Chỉ số chính")
        SUB = "sub", _("Chỉ số thành phần")
        CRITERION = "criterion", _("Tiêu chí")

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="indicators")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    level = models.CharField(_("cấp"), max_length=10, choices=Level.choices)
    code = models.CharField(_("mã"), max_length=20)
    sort_key = models.CharField(max_length=80, editable=False, db_index=True)
    name = models.TextField(_("tên"))
    max_points = models.DecimalField(_("điểm tối đa"), max_digits=9, decimal_places=2)
    scoring_method = models.TextField(_("phương pháp tính điểm (nguyên văn)"), blank=True)
    evidence_guidance = models.TextField(_("hướng dẫn tài liệu kiểm chứng"), blank=True)
    is_ministry_measured = models.BooleanField(_("Bộ KH&CN tự đo"), default=False)
    scoring_rule = models.JSONField(_("quy tắc tính điểm"), default=dict, blank=True)
    nfc_json_fields = ("scoring_rule",)  # level labels are typed
    lead_agency = models.ForeignKey(
        Agency,
        verbose_name=_("cơ quan chủ trì"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_indicators",
    )
    coordinating_agencies = models.ManyToManyField(
        Agency,
        verbose_name=_("cơ quan phối hợp"),
        blank=True,
        related_name="coordinated_indicators",
    )
    coordinating_groups = models.ManyToManyField(
        AgencyGroup,
        verbose_name=_("nhóm phối hợp"),
        blank=True,
        related_name="coordinated_indicators",
    )

    history = HistoricalRecords(m2m_fields=[coordinating_agencies, coordinating_groups])

    class Meta:
        verbose_name = _("chỉ số")
        verbose_name_plural = _("chỉ số")
        ordering = ["framework", "sort_key"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "code"], name="indicator_unique_code"),
            models.CheckConstraint(
                condition=models.Q(max_points__gte=0), name="indicator_points_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}. {self.name}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.sort_key = natural_sort_key(self.code)
        super().save(*args, **kwargs)

    @property
    def is_scored(self) -> bool:
        return self.max_points > 0

    RULE_LABELS = {
        "yes_no": _("Có/Không: đạt được đủ điểm, không đạt 0 điểm"),
        "levels": _("Theo mức độ: mỗi mức một tỷ lệ của điểm tối đa"),
        "ratio": _("Tỷ lệ: tử số / mẫu số × điểm tối đa (không vượt điểm tối đa)"),
        "count_bands": _("Theo số lượng: mỗi khoảng một mức điểm"),
        "threshold_bands": _("Theo ngưỡng (giá trị hoặc tỷ lệ %): mỗi ngưỡng một tỷ lệ điểm"),
        "target": _("So với chỉ tiêu: giá trị / chỉ tiêu × điểm tối đa"),
        "manual": _("Sở KH&CN chấm điểm"),
        "informational": _("Chỉ theo dõi, không tính điểm"),
        "external": _("Bộ KH&CN đo: nhập điểm dự kiến"),
    }

    @property
    def scoring_rule_label(self) -> str:
        """The rule's type in words (shown when the file gives no official wording)."""
        kind = (self.scoring_rule or {}).get("type", "")
        return str(self.RULE_LABELS.get(kind, kind))


class Measure(TimeStamped):
    """A value an agency reports for a sub-indicator (e.g. numerator "số CCVC chuyên trách").

    Values are stored as decimals; ``boolean`` is 1/0, ``level`` is the chosen option's key,
    ``text`` is free text and does not score.
    """

    class Kind(models.TextChoices):
        BOOLEAN = "boolean", _("Có/Không")
        NUMBER = "number", _("Số")
        NUMERATOR = "numerator", _("Tử số")
        DENOMINATOR = "denominator", _("Mẫu số")
        COUNT = "count", _("Số lượng")
        PERCENT = "percent", _("Tỷ lệ %")
        #: A figure per 100 or 1000 inhabitants: not added up when several agencies report it
        #: (a sum of rates means nothing); the lead enters the province's figure.
        RATE = "rate", _("Giá trị tính trên dân số")
        LEVEL = "level", _("Mức độ")
        TEXT = "text", _("Văn bản")

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="measures")
    code = models.SlugField(_("mã"), max_length=50)
    label = models.CharField(_("nhãn"), max_length=255)
    kind = models.CharField(_("kiểu"), max_length=20, choices=Kind.choices)
    unit = models.CharField(_("đơn vị"), max_length=50, blank=True)
    required = models.BooleanField(_("bắt buộc"), default=True)
    choices = models.JSONField(_("các mức"), default=list, blank=True)
    nfc_json_fields = ("choices",)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("số liệu báo cáo")
        verbose_name_plural = _("số liệu báo cáo")
        ordering = ["indicator", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "code"], name="measure_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code}/{self.code}"


class Crosswalk(TimeStamped):
    """Maps an indicator code of one framework version to a code of another, for trends."""

    source = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="crosswalks_out")
    target = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="crosswalks_in")
    source_code = models.CharField(_("mã cũ"), max_length=20)
    target_code = models.CharField(_("mã mới"), max_length=20)
    note = models.CharField(_("ghi chú"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("bảng chuyển đổi mã")
        verbose_name_plural = _("bảng chuyển đổi mã")
        ordering = ["source", "source_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "source_code", "target_code"],
                name="crosswalk_unique_pair",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source.code}:{self.source_code} → {self.target.code}:{self.target_code}"
