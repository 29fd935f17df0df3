"""Score snapshots, recompute bookkeeping and imported national results."""

from __future__ import annotations

from decimal import Decimal
from typing import TypedDict

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from agencies.models import TimeStamped
from evidence.models import ReportingPeriod
from indicators.models import Framework


class _FullPrecision(TypedDict):
    max_digits: int
    decimal_places: int


#: Scores are stored at full precision (12 decimals); rounding to 4 is for display only.
FULL: _FullPrecision = {"max_digits": 24, "decimal_places": 12}


class ScoreState(TimeStamped):
    """Recompute bookkeeping for one (framework, period).

    Every change bumps ``requested_seq``; a run records the sequence it started from in
    ``computed_seq``. Scores are stale while ``computed_seq < requested_seq``. A run never writes
    snapshots older than those already stored (sequence check under a row lock).
    """

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="+")
    period = models.ForeignKey(ReportingPeriod, on_delete=models.CASCADE, related_name="+")
    requested_seq = models.PositiveBigIntegerField(default=0)
    computed_seq = models.PositiveBigIntegerField(default=0)
    runs = models.PositiveIntegerField(_("số lần tính"), default=0)
    enqueue_failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("trạng thái tính điểm")
        verbose_name_plural = _("trạng thái tính điểm")
        constraints = [
            models.UniqueConstraint(fields=["framework", "period"], name="scorestate_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.framework.code} {self.period}: {self.computed_seq}/{self.requested_seq}"

    @property
    def stale(self) -> bool:
        return self.computed_seq < self.requested_seq


class ScoreSnapshot(TimeStamped):
    """The province's score for one (framework, period, kind), at full precision, with lineage.

    ``main_indices``: ``[{"code", "name", "points", "max_points", "value"}]`` (decimal strings).
    ``lineage``: per sub-indicator code, the values used, the rule and the points, with the
    submissions they came from, so every figure can be explained (``explanation`` and
    ``warnings`` in Vietnamese; ``explanation_msg`` and ``warning_msgs`` the same sentences
    structured, shown in the reader's language).
    ``agencies``: per agency figures for the league table.
    """

    class Kind(models.TextChoices):
        """Whose points a snapshot adds up: the agencies' own, the Sở's appraisal, the final."""

        SELF_ASSESSED = "self_assessed", _("Tự chấm")
        # "Thẩm định" is also the review itself (menu, review page): English needs both.
        APPRAISED = "appraised", pgettext_lazy("points", "Thẩm định")
        FINAL = "final", _("Cuối cùng")

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="snapshots")
    period = models.ForeignKey(ReportingPeriod, on_delete=models.CASCADE, related_name="snapshots")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    total_points = models.DecimalField(_("tổng điểm"), **FULL)
    dti = models.DecimalField(_("chỉ số DTI"), **FULL)
    points_at_risk = models.DecimalField(_("điểm có nguy cơ mất"), default=0, **FULL)
    max_reachable = models.DecimalField(_("điểm tối đa còn đạt được"), default=0, **FULL)
    main_indices = models.JSONField(default=list)
    lineage = models.JSONField(default=dict)
    agencies = models.JSONField(default=list)
    input_hash = models.CharField(max_length=64)
    sequence = models.PositiveBigIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("kết quả chấm điểm")
        verbose_name_plural = _("kết quả chấm điểm")
        ordering = ["framework", "period", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["framework", "period", "kind"], name="snapshot_unique_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.framework.code} {self.period} {self.kind}: {self.total_points}"


#: The snapshot kinds, under the name the engine, selectors and dashboards use.
ScoreKind = ScoreSnapshot.Kind


class NationalResult(TimeStamped):
    """A province's published national result for a year (imported from the Ministry's table).

    ``main_values`` maps main-index codes to the published value (0–1); ``dti`` is computed from
    the framework's weights at full precision; ``rank`` ties share a rank, the next is skipped.
    ``published_dti`` and ``published_rank`` are the Ministry's own figures when its table has
    them (both, on every row of the year, or on none: the import refuses anything between):
    those are official (the Ministry ranks on values it publishes rounded to 4 decimals, so
    a DTI recomputed from them can tie or swap two close provinces); ``official_dti`` and
    ``official_rank`` are what every page shows.
    """

    framework = models.ForeignKey(
        Framework, on_delete=models.CASCADE, related_name="national_results"
    )
    year = models.PositiveIntegerField()
    province = models.CharField(_("tỉnh, thành phố"), max_length=100)
    main_values = models.JSONField(default=dict)
    dti = models.DecimalField(**FULL)
    rank = models.PositiveIntegerField()
    published_dti = models.DecimalField(null=True, blank=True, **FULL)
    published_rank = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("kết quả công bố")
        verbose_name_plural = _("kết quả công bố")
        ordering = ["framework", "year", "rank", "province"]
        constraints = [
            models.UniqueConstraint(
                fields=["framework", "year", "province"], name="national_unique_province"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.province}: {self.official_dti} (#{self.official_rank})"

    @property
    def official_dti(self) -> Decimal:
        """The published DTI when the Ministry's table has one, else the computed one."""
        return self.published_dti if self.published_dti is not None else self.dti

    @property
    def official_rank(self) -> int:
        """The published rank when the Ministry's table has one, else the computed one."""
        return self.published_rank if self.published_rank is not None else self.rank


from .exports.models import ExportJob  # noqa: E402,F401  (exports own their model)
