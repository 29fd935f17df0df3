"""Scoring reads, scoped to the user.

Who sees what in ``scores/summary/`` (DOMAIN.md §2: agencies see only their own work):

- reviewers, administrators and leaders: the province's whole summary;
- agency staff: *their part* only — the sub-indicators their agency leads or contributed to,
  summed per main index (``max_points`` is the max of those sub-indicators only), with
  ``"scope": "agency"`` and no DTI (the province's DTI is not theirs to see);
- a framework or period that does not exist (or a period of another framework): 404;
- a draft framework, for anyone who may not see drafts (everyone but reviewers and admins,
  the rule of ``indicators.selectors.framework_queryset``): 404 as well, on every score page,
  score API and export (they all look the framework up through ``score_frameworks``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import F, QuerySet
from django.utils.translation import gettext as _

from dti_portal.errors import NotFound
from evidence.models import ReportingPeriod
from evidence.selectors import assigned_indicators
from indicators.models import Framework
from indicators.selectors import framework_queryset

from .models import NationalResult, ScoreKind, ScoreSnapshot, ScoreState


def score_frameworks(*, user: Any) -> QuerySet[Framework]:
    """The frameworks whose scores ``user`` may see: those the frameworks API shows them
    (drafts for reviewers and admins only). Every scoring lookup of a framework goes through it."""
    return framework_queryset(user=user)


def score_framework_get(*, user: Any, code: str) -> Framework:
    framework = score_frameworks(user=user).filter(code=code).first()
    if framework is None:
        raise NotFound(_("Không tìm thấy bộ chỉ số."))
    return framework


def score_period_get(*, user: Any, framework: Framework, period_id: int) -> ReportingPeriod:
    period = ReportingPeriod.objects.filter(pk=period_id, framework=framework).first()
    if period is None:
        raise NotFound(_("Không tìm thấy kỳ báo cáo của bộ chỉ số này."))
    return period


def score_snapshots(
    *, user: Any, framework: Framework, period: ReportingPeriod
) -> dict[str, ScoreSnapshot]:
    """The stored snapshots by kind (province view: reviewers, leaders, admins only)."""
    if not user.sees_province:
        return {}
    return {s.kind: s for s in ScoreSnapshot.objects.filter(framework=framework, period=period)}


def score_trend(*, user: Any, framework: Framework) -> list[dict[str, Any]]:
    """The quarter-by-quarter trend of one framework (province view only): one row per period
    with a snapshot, oldest first, ``{"period_id", "label", "year", "quarter", <kind>: {"total_points",
    "dti"}}``. One query whatever the number of periods."""
    if not user.sees_province:
        return []
    rows: dict[int, dict[str, Any]] = {}
    for snap in (
        ScoreSnapshot.objects.filter(framework=framework)
        .select_related("period")
        .only("kind", "total_points", "dti", "period__year", "period__quarter")
        .order_by("period__year", F("period__quarter").asc(nulls_last=True), "kind")
    ):
        period = snap.period
        row = rows.setdefault(
            period.pk,
            {
                "period_id": period.pk,
                "label": str(period),
                "year": period.year,
                "quarter": period.quarter,
            },
        )
        row[snap.kind] = {"total_points": _dec(snap.total_points), "dti": _dec(snap.dti)}
    return list(rows.values())


def score_national_results(*, user: Any, framework: Framework, year: int) -> list[NationalResult]:
    """Published national results (public data): visible to every signed-in user."""
    return list(NationalResult.objects.filter(framework=framework, year=year))


def _dec(v: Decimal | None) -> str | None:
    return None if v is None else format(v, "f")


def _agency_part(
    snapshot: ScoreSnapshot, agency_id: int | None, assigned: set[str]
) -> dict[str, Any]:
    """Totals over the sub-indicators ``agency_id`` leads, coordinates (``assigned``: codes,
    directly or through a group, whether or not its contribution was used) or contributed to,
    from the lineage."""
    per_main: dict[str, list[Decimal]] = {}
    for code, entry in snapshot.lineage.items():
        mine = agency_id is not None and (
            code in assigned
            or entry.get("lead_agency_id") == agency_id
            or agency_id in entry.get("contributors", [])
        )
        if not mine:
            continue
        acc = per_main.setdefault(entry["main_code"], [Decimal(0), Decimal(0)])
        acc[0] += Decimal(entry["points"])
        acc[1] += Decimal(entry["max_points"])
    mains = []
    total = Decimal(0)
    for main in snapshot.main_indices:
        if main["code"] not in per_main:
            continue
        pts, mx = per_main[main["code"]]
        total += pts
        mains.append(
            {
                "code": main["code"],
                "name": main.get("name", ""),
                "points": _dec(pts),
                "max_points": _dec(mx),
                "value": _dec(pts / mx if mx > 0 else Decimal(0)),
            }
        )
    return {"total_points": _dec(total), "dti": None, "main_indices": mains}


def score_summary(*, user: Any, framework: Framework, period: ReportingPeriod) -> dict[str, Any]:
    """The ``scores/summary/`` payload: for each kind its total, DTI, main indices, computed_at and
    whether it is stale (a change is not yet computed, or queuing the recompute failed)."""
    state = ScoreState.objects.filter(framework=framework, period=period).first()
    stale_state = state is None or state.stale or state.enqueue_failed_at is not None
    snapshots = {
        s.kind: s for s in ScoreSnapshot.objects.filter(framework=framework, period=period)
    }
    province = bool(user.sees_province)
    agency = getattr(user, "agency", None)
    assigned = (
        set(assigned_indicators(agency=agency, framework=framework).values_list("code", flat=True))
        if not province and agency is not None
        else set()
    )
    out: dict[str, Any] = {
        "framework": framework.code,
        "period": period.pk,
        "scope": "province" if province else "agency",
    }
    for kind in ScoreKind.values:
        snap = snapshots.get(kind)
        if snap is None:
            out[kind] = {
                "total_points": None,
                "dti": None,
                "main_indices": [],
                "computed_at": None,
                "stale": True,
                "points_at_risk": None,
                "max_reachable": None,
            }
            continue
        if province:
            body: dict[str, Any] = {
                "total_points": _dec(snap.total_points),
                "dti": _dec(snap.dti),
                "main_indices": [
                    {k: m[k] for k in ("code", "name", "points", "max_points", "value")}
                    for m in snap.main_indices
                ],
                "points_at_risk": _dec(snap.points_at_risk),
                "max_reachable": _dec(snap.max_reachable),
            }
        else:
            body = {
                **_agency_part(snap, user.agency_id, assigned),
                "points_at_risk": None,
                "max_reachable": None,
            }
        body["computed_at"] = snap.computed_at.isoformat()
        body["stale"] = stale_state or snap.sequence < (state.requested_seq if state else 0)
        out[kind] = body
    return out
