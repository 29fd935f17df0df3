"""Reporting periods, submissions, evidence files, the transition log and notifications."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from agencies.models import Agency, NFCText, TimeStamped
from indicators.models import Framework, Indicator
from indicators.scoring_rules.base import render_message


class ReportingPeriod(TimeStamped):
    """A quarter (1–4) of a year, or the annual round (``quarter`` is null), of one framework.

    Default deadline: the 25th of the quarter's last month; the annual round: 10 January of the
    next year (Plan 4636). After the deadline, or once closed, the period is locked for agencies;
    a reviewer may reopen one item for one agency (``ItemExtension``).
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Đang mở")
        CLOSED = "closed", _("Đã khóa")

    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="periods")
    year = models.PositiveIntegerField(_("năm"))
    quarter = models.PositiveSmallIntegerField(_("quý"), null=True, blank=True)
    deadline = models.DateField(_("hạn báo cáo"))
    status = models.CharField(
        _("trạng thái"), max_length=10, choices=Status.choices, default=Status.OPEN
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("kỳ báo cáo")
        verbose_name_plural = _("kỳ báo cáo")
        # A year's quarters in order, then its annual round, on every database.
        ordering = ["-year", models.F("quarter").asc(nulls_last=True)]
        constraints = [
            models.UniqueConstraint(
                fields=["framework", "year", "quarter"],
                name="period_unique_quarter",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=models.Q(quarter__isnull=True) | models.Q(quarter__gte=1, quarter__lte=4),
                name="period_quarter_1_4",
            ),
        ]

    def __str__(self) -> str:
        if self.quarter is None:
            return _("Cả năm %(year)s") % {"year": self.year}
        return _("Quý %(quarter)s/%(year)s") % {"quarter": self.quarter, "year": self.year}

    @property
    def label(self) -> str:
        return str(self)


class ItemExtension(TimeStamped):
    """A reviewer reopened one sub-indicator of a locked period for one agency, until ``deadline``."""

    period = models.ForeignKey(ReportingPeriod, on_delete=models.CASCADE, related_name="extensions")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    deadline = models.DateField(_("hạn mới"))
    reason = models.TextField(_("lý do"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("gia hạn từng chỉ số")
        verbose_name_plural = _("gia hạn từng chỉ số")
        constraints = [
            models.UniqueConstraint(
                fields=["period", "indicator", "agency"], name="extension_unique_item"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.indicator.code} {self.agency} → {self.deadline:%d/%m/%Y}"


#: The states of a submission that has reached the Sở KH&CN (what scores count).
REACHED_SO_STATES = ["approved", "submitted", "under_review"]
#: The states of a submission its agency has sent (to the lead or to the Sở) and that was not
#: sent back: its evidence was handed in (what a later period may reuse).
SENT_STATES = ["submitted_to_lead", *REACHED_SO_STATES]


class Submission(FSMModelMixin, TimeStamped):
    """What one agency reports for one sub-indicator in one period.

    A coordinating agency's submission is a *contribution* sent to the lead agency; the lead
    agency's submission (``is_consolidation``) carries the consolidated values and is what the Sở
    reviews. ``values`` maps measure codes to decimal strings (text measures: plain text).
    ``own_values`` (the consolidation only): the lead agency's own part of the combinable
    measures, combined with the coordinators' contributions into the proposal the consolidated
    values are checked against (``services.lead_proposal``); empty when the lead has no part.
    ``version`` increases on every write; a write carrying an older version is refused (409).
    Points: ``self_points`` from the rule applied to the values, ``appraised_points`` set by the
    reviewer at approval, ``final_points`` by the appraisal council.
    """

    class State(models.TextChoices):
        DRAFT = "draft", _("Nháp")
        SUBMITTED_TO_LEAD = "submitted_to_lead", _("Đã gửi cơ quan chủ trì")
        SUBMITTED = "submitted", _("Đã gửi Sở KH&CN")
        UNDER_REVIEW = "under_review", _("Đang thẩm định")
        APPROVED = "approved", _("Đã duyệt")
        RETURNED = "returned", _("Bị trả lại, cần giải trình")

    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="submissions")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="submissions")
    period = models.ForeignKey(
        ReportingPeriod, on_delete=models.PROTECT, related_name="submissions"
    )
    state = FSMField(
        _("trạng thái"), default=State.DRAFT, choices=State.choices, protected=True, db_index=True
    )
    is_consolidation = models.BooleanField(
        _("là báo cáo tổng hợp của cơ quan chủ trì"), default=False
    )
    values = models.JSONField(_("số liệu"), default=dict, blank=True)
    nfc_json_fields = ("values", "own_values")  # text measures are typed
    note = models.TextField(_("giải trình"), blank=True)
    consolidation_reason = models.TextField(_("lý do điều chỉnh số liệu tổng hợp"), blank=True)
    own_values = models.JSONField(
        _("số liệu riêng của cơ quan chủ trì"),
        default=dict,
        blank=True,
        help_text=_(
            "Chỉ với báo cáo tổng hợp: phần số liệu của chính cơ quan chủ trì, cộng với các cơ "
            "quan phối hợp thành số liệu tổng hợp đề xuất."
        ),
    )
    self_points = models.DecimalField(
        _("điểm tự chấm"), max_digits=9, decimal_places=4, null=True, blank=True
    )
    appraised_points = models.DecimalField(
        _("điểm thẩm định"), max_digits=9, decimal_places=4, null=True, blank=True
    )
    appraisal_reason = models.TextField(_("lý do điểm thẩm định"), blank=True)
    final_points = models.DecimalField(
        _("điểm cuối cùng"), max_digits=9, decimal_places=4, null=True, blank=True
    )
    final_reason = models.TextField(_("lý do điểm cuối cùng"), blank=True)
    version = models.PositiveIntegerField(_("phiên bản"), default=1)
    submitted_at = models.DateTimeField(_("gửi lúc"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("thẩm định lúc"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("báo cáo chỉ số")
        verbose_name_plural = _("báo cáo chỉ số")
        ordering = ["period", "indicator__sort_key", "agency__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "agency", "period"], name="submission_unique_item"
            ),
            models.CheckConstraint(
                condition=models.Q(appraised_points__isnull=True)
                | models.Q(appraised_points__gte=0),
                name="submission_appraised_nonneg",
            ),
        ]
        indexes = [
            models.Index(fields=["period", "state"], name="submission_period_state"),
            # Score recompute (scoring.services.loading._load_submissions): the state counts of a
            # period's tens of thousands of submissions read from the index alone, and the few
            # rows read in full (reached the Sở, or the consolidation) found without a scan.
            models.Index(
                fields=["period", "indicator", "state"], name="submission_period_item_state"
            ),
            models.Index(
                fields=["period"],
                condition=models.Q(state__in=REACHED_SO_STATES) | models.Q(is_consolidation=True),
                name="submission_reached_so",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} · {self.agency} · {self.period}"

    @property
    def is_editable_state(self) -> bool:
        return self.state in (self.State.DRAFT, self.State.RETURNED)

    @property
    def points_lost(self) -> Decimal | None:
        pts = self.appraised_points if self.appraised_points is not None else self.self_points
        return None if pts is None else self.indicator.max_points - pts

    # --- State machine (django-fsm-2). Called only by ``evidence.services.transitions``, which
    # checks the role and the version under a row lock and writes the audit row. -------------

    @transition(field=state, source=[State.DRAFT, State.RETURNED], target=State.SUBMITTED_TO_LEAD)
    def submit_to_lead(self) -> None:
        """A coordinating agency sends its contribution to the lead agency."""

    @transition(field=state, source=[State.DRAFT, State.RETURNED], target=State.SUBMITTED)
    def submit_to_reviewer(self) -> None:
        """The lead agency (or a sole reporting agency) sends the sub-indicator to the Sở."""

    @transition(field=state, source=State.SUBMITTED, target=State.UNDER_REVIEW)
    def start_review(self) -> None:
        """A reviewer takes the item."""

    @transition(field=state, source=[State.SUBMITTED, State.UNDER_REVIEW], target=State.APPROVED)
    def approve(self) -> None:
        """A reviewer approves, with the appraised points."""

    @transition(field=state, source=[State.SUBMITTED, State.UNDER_REVIEW], target=State.RETURNED)
    def return_for_explanation(self) -> None:
        """A reviewer sends the item back with a reason (giải trình, bổ sung minh chứng)."""

    @transition(field=state, source=State.SUBMITTED_TO_LEAD, target=State.RETURNED)
    def return_to_contributor(self) -> None:
        """The lead agency sends a coordinating agency's contribution back with a reason."""

    @transition(field=state, source=State.APPROVED, target=State.RETURNED)
    def reopen(self) -> None:
        """A reviewer reopens an approved item (audited, with a reason)."""

    @transition(field=state, source=State.APPROVED, target=State.APPROVED)
    def set_final(self) -> None:
        """The appraisal council confirms or adjusts the final points of an approved item."""


def evidence_upload_to(instance: EvidenceFile, filename: str) -> str:
    """Random storage key: the original name lives only in the database, never in the path."""
    sub = instance.submission
    return f"evidence/{sub.agency_id}/{sub.period_id}/{uuid.uuid4().hex}"


class EvidenceFile(NFCText, models.Model):
    """A document or link proving a submission (tài liệu kiểm chứng).

    Immutable once its submission is submitted; an earlier quarter's file can be reused without
    uploading it again (``reused_from``: the same stored file, a new row).
    """

    class Kind(models.TextChoices):
        FILE = "file", _("Tệp")
        LINK = "link", _("Đường dẫn")

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FILE)
    file = models.FileField(upload_to=evidence_upload_to, max_length=255, blank=True)
    url = models.URLField(_("đường dẫn"), max_length=1000, blank=True)
    original_name = models.CharField(_("tên tệp"), max_length=255, blank=True)
    size = models.PositiveBigIntegerField(_("dung lượng"), default=0)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    mime_type = models.CharField(max_length=100, blank=True)
    doc_number = models.CharField(_("số hiệu"), max_length=100, blank=True)
    doc_date = models.DateField(_("ngày ban hành"), null=True, blank=True)
    issuer = models.CharField(_("cơ quan ban hành"), max_length=255, blank=True)
    summary = models.TextField(_("trích yếu"), blank=True)
    reused_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reuses"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("tải lên lúc"), auto_now_add=True)

    class Meta:
        verbose_name = _("tài liệu kiểm chứng")
        verbose_name_plural = _("tài liệu kiểm chứng")
        ordering = ["submission", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="file") & ~models.Q(file=""))
                | (models.Q(kind="link") & ~models.Q(url="")),
                name="evidence_file_or_link",
            ),
        ]

    def __str__(self) -> str:
        return self.original_name or self.url

    @property
    def was_submitted(self) -> bool:
        """Attached before its submission's last submit: the reviewers saw it, so it stays
        (a returned item gets more evidence, never less). Reads ``submission``."""
        sent = self.submission.submitted_at
        return sent is not None and self.created_at is not None and self.created_at <= sent


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk ``update``/``delete`` refused: audit rows are written once and kept."""

    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("Audit rows are append-only.")

    def delete(self):  # type: ignore[no-untyped-def]
        raise PermissionError("Audit rows cannot be deleted.")

    def bulk_update(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("Audit rows are append-only.")


class SubmissionTransition(NFCText, models.Model):
    """One row per transition of a submission: who, when, from which state, to which, why.

    Written in the same transaction as the transition; append-only (no update, no delete).
    """

    class ReturnReason(models.TextChoices):
        """Why an item is sent back (``SubmissionTransition.reason_code``)."""

        MISSING_EVIDENCE = "thieu_minh_chung", _("Thiếu minh chứng")
        VALUES_MISMATCH = "so_lieu_khong_khop", _("Số liệu không khớp")
        WRONG_PERIOD = "sai_ky_bao_cao", _("Sai kỳ báo cáo")
        OTHER = "khac", _("Khác")

    class Action(models.TextChoices):
        """``SubmissionTransition.action`` values."""

        SUBMIT_TO_LEAD = "submit_to_lead", _("Gửi cơ quan chủ trì")
        SUBMIT = "submit", _("Gửi Sở KH&CN")
        RESUBMIT = "resubmit", _("Gửi lại")
        START_REVIEW = "start_review", _("Bắt đầu thẩm định")
        APPROVE = "approve", _("Duyệt")
        RETURN = "return", _("Trả lại")
        RETURN_CONTRIBUTION = "return_contribution", _("Chủ trì trả lại phần phối hợp")
        REOPEN = "reopen", _("Mở lại")
        SET_FINAL = "set_final", _("Hội đồng chốt điểm cuối cùng")

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="transitions")
    action = models.CharField(_("thao tác"), max_length=30, choices=Action.choices)
    from_state = models.CharField(_("từ"), max_length=20, blank=True)
    to_state = models.CharField(_("sang"), max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    actor_role = models.CharField(max_length=20)
    actor_agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason_code = models.CharField(
        _("mã lý do"), max_length=50, blank=True, choices=ReturnReason.choices
    )
    reason = models.TextField(_("lý do"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("lúc"), auto_now_add=True, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("lịch sử chuyển trạng thái")
        verbose_name_plural = _("lịch sử chuyển trạng thái")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.submission_id}: {self.from_state} → {self.to_state} ({self.action})"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None:
            raise PermissionError("Transition rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("Transition rows cannot be deleted.")


class Notification(models.Model):
    """An in-app message (and optionally an email) for one user.

    ``message_msg`` is the message kept structured (``Msg.as_json``: a msgid and its arguments),
    so that :attr:`text` shows it in the reader's language and number format, whoever acted.
    ``message`` is the same sentence in Vietnamese (search, the admin, and what rows written
    before messages were structured show).
    """

    class Kind(models.TextChoices):
        SUBMITTED_TO_LEAD = "submitted_to_lead", _("Phần phối hợp gửi đến")
        SUBMITTED = "submitted", _("Báo cáo gửi Sở KH&CN")
        RESUBMITTED = "resubmitted", _("Báo cáo gửi lại")
        APPROVED = "approved", _("Đã duyệt")
        RETURNED = "returned", _("Trả lại")
        REOPENED = "reopened", _("Mở lại")
        #: A locked item reopened for one agency with its own deadline.
        EXTENDED = "extended", _("Gia hạn")
        FINAL = "final", _("Điểm cuối cùng")
        REMINDER = "reminder", _("Nhắc hạn")
        OVERDUE = "overdue", _("Quá hạn")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("loại"), max_length=40, choices=Kind.choices)
    message = models.TextField()
    message_msg = models.JSONField(null=True, blank=True, default=None)
    link = models.CharField(max_length=255, blank=True)
    submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("thông báo")
        verbose_name_plural = _("thông báo")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.message[:50]}"

    @property
    def text(self) -> str:
        """The message in the active language (the stored Vietnamese text for older rows)."""
        return render_message(self.message_msg, self.message)


class ReminderDigest(models.Model):
    """One deadline reminder digest per agency per period per day (makes beat runs idempotent)."""

    class Kind(models.TextChoices):
        BEFORE = "before", _("Nhắc trước hạn")
        OVERDUE = "overdue", _("Quá hạn")

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    period = models.ForeignKey(ReportingPeriod, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    items = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("thư nhắc hạn")
        verbose_name_plural = _("thư nhắc hạn")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "period", "day"], name="reminder_one_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency} {self.period} {self.day:%d/%m/%Y}"
