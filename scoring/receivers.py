"""Connects the changes that feed scores to the coalesced recompute request (enqueue only).

- evidence's ``scores_invalidated`` (sent after commit on approvals, reopens, value changes,
  appraisals and final points);
- a change to a sub-indicator (rule, max points, lead agency) or to one of its measures, made
  by a reviewer in a framework already used by reporting periods: every period of that
  framework is recomputed after commit. Creations (framework imports, new versions) do not
  trigger anything: a new node has no submissions yet, and the nightly recompute is the net;
- a moved deadline: the period's (extended or brought forward) or one item's
  (``ItemExtension`` granted, changed or removed). Whether an item not sent is "overdue" or
  still "missing" depends on it; the nightly recompute covers open periods only.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from evidence.models import ItemExtension, ReportingPeriod
from evidence.signals import scores_invalidated
from indicators.models import Indicator, Measure


@receiver(scores_invalidated, dispatch_uid="scoring.request_recompute")
def _on_scores_invalidated(sender: Any, framework_id: int, period_id: int, **kwargs: Any) -> None:
    from .services import score_recompute_request

    score_recompute_request(framework_id=framework_id, period_id=period_id)


def _request_for_framework(framework_id: int) -> None:
    period_ids = list(
        ReportingPeriod.objects.filter(framework_id=framework_id).values_list("id", flat=True)
    )
    if not period_ids:
        return

    def request() -> None:
        from .services import score_recompute_request

        for period_id in period_ids:
            score_recompute_request(framework_id=framework_id, period_id=period_id)

    transaction.on_commit(request)


@receiver(post_save, sender=Indicator, dispatch_uid="scoring.indicator_changed")
def _on_indicator_saved(
    sender: Any, instance: Indicator, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if raw or created:
        return
    _request_for_framework(instance.framework_id)


@receiver(post_save, sender=Measure, dispatch_uid="scoring.measure_saved")
def _on_measure_saved(
    sender: Any, instance: Measure, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if raw or created:
        return
    _request_for_framework(instance.indicator.framework_id)


@receiver(post_delete, sender=Measure, dispatch_uid="scoring.measure_deleted")
def _on_measure_deleted(sender: Any, instance: Measure, **kwargs: Any) -> None:
    framework_id = (
        Indicator.objects.filter(pk=instance.indicator_id)
        .values_list("framework_id", flat=True)
        .first()
    )
    if framework_id is not None:
        _request_for_framework(framework_id)


def _request_for_period(framework_id: int, period_id: int) -> None:
    def request() -> None:
        from .services import score_recompute_request

        score_recompute_request(framework_id=framework_id, period_id=period_id)

    transaction.on_commit(request)


@receiver(post_save, sender=ReportingPeriod, dispatch_uid="scoring.period_saved")
def _on_period_saved(
    sender: Any,
    instance: ReportingPeriod,
    created: bool,
    raw: bool = False,
    update_fields: Any = None,
    **kwargs: Any,
) -> None:
    if raw or created or (update_fields is not None and "deadline" not in update_fields):
        return  # a new period has nothing to score yet; opening or closing changes no score
    _request_for_period(instance.framework_id, instance.pk)


@receiver(post_save, sender=ItemExtension, dispatch_uid="scoring.extension_saved")
@receiver(post_delete, sender=ItemExtension, dispatch_uid="scoring.extension_deleted")
def _on_extension_changed(
    sender: Any, instance: ItemExtension, raw: bool = False, **kwargs: Any
) -> None:
    if raw:
        return
    framework_id = (
        ReportingPeriod.objects.filter(pk=instance.period_id)
        .values_list("framework_id", flat=True)
        .first()
    )
    if framework_id is not None:
        _request_for_period(framework_id, instance.period_id)
