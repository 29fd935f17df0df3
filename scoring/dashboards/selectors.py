"""Reads behind the dashboards, the league table and the exports, scoped to the user.

Province users (leaders, reviewers, admins) see the province's figures as stored in the score
snapshots (the same numbers as ``scores/summary/``). Agency staff see their own part only: the
sub-indicators their agency leads, coordinates (directly or through a group) or reported on, with
totals summed over those. Every function issues a fixed number of queries whatever the number of
agencies, submissions or evidence files.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Min, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency, AgencyGroup
from agencies.text import normalize_name
from dti_portal.errors import NotFound
from evidence.models import (
    EvidenceFile,
    ItemExtension,
    ReportingPeriod,
    Submission,
    SubmissionTransition,
)
from indicators.models import Framework, Indicator

from ..models import NationalResult, ScoreKind, ScoreSnapshot, ScoreState
from . import league as league_mod

KINDS: tuple[str, ...] = tuple(ScoreKind.values)
ZERO = Decimal(0)
# States in which an item still waits for the agency (counts as overdue after the deadline).
WAITING_FOR_AGENCY = (Submission.State.DRAFT, Submission.State.RETURNED)
MAX_ID = 2**63  # larger ids cannot exist (and overflow the database driver)
# Newest period first, a year's annual round (quarter NULL) after its Q4, on every database
# (PostgreSQL and SQLite disagree on where NULL goes unless told).
LATEST_PERIOD_FIRST = (F("period__year").desc(), F("period__quarter").desc(nulls_first=True))
SUBMIT_STATES = (Submission.State.SUBMITTED_TO_LEAD, Submission.State.SUBMITTED)


def dec(value: Any) -> Decimal | None:
    """A decimal from a snapshot's decimal string (None stays None)."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


# --- framework and period -------------------------------------------------------------------


def frameworks_for_dashboard() -> list[Framework]:
    return list(Framework.objects.exclude(status=Framework.Status.DRAFT).order_by("-year", "code"))


def resolve_framework_period(
    *, framework_code: str | None = None, period_id: Any = None
) -> tuple[Framework, ReportingPeriod | None]:
    """The framework and period asked for, or sensible defaults: the latest computed period.

    Raises NotFound for an unknown framework code or a period of another framework.
    """
    fw: Framework | None
    if framework_code:
        fw = Framework.objects.filter(code=framework_code).first()
        if fw is None:
            raise NotFound(_("Không tìm thấy bộ chỉ số."))
    else:
        latest = (
            ScoreSnapshot.objects.select_related("framework")
            .order_by(*LATEST_PERIOD_FIRST, "-computed_at")
            .only("framework")
            .first()
        )
        fw = latest.framework if latest else None
        if fw is None:
            fw = (
                Framework.objects.exclude(status=Framework.Status.DRAFT).order_by("-year").first()
                or Framework.objects.order_by("-year").first()
            )
        if fw is None:
            raise NotFound(_("Chưa có bộ chỉ số nào."))
    period: ReportingPeriod | None
    if period_id not in (None, ""):
        try:
            pid = int(period_id)
        except (TypeError, ValueError) as exc:
            raise NotFound(_("Không tìm thấy kỳ báo cáo.")) from exc
        if not 0 < pid < MAX_ID:
            raise NotFound(_("Không tìm thấy kỳ báo cáo."))
        period = ReportingPeriod.objects.filter(pk=pid, framework=fw).first()
        if period is None:
            raise NotFound(_("Không tìm thấy kỳ báo cáo."))
    else:
        # Leadership opens the dashboard to see results: the latest period the Sở has appraised
        # something in, else the latest period computed at all (a new framework, nothing yet).
        snaps = ScoreSnapshot.objects.filter(framework=fw).select_related("period").only("period")
        snap = (
            snaps.filter(kind=ScoreKind.APPRAISED, total_points__gt=0)
            .order_by(*LATEST_PERIOD_FIRST)
            .first()
        ) or snaps.order_by(*LATEST_PERIOD_FIRST).first()
        period = snap.period if snap else None
        if period is None:
            all_periods = periods_of(fw)
            period = all_periods[-1] if all_periods else None
    return fw, period


def period_sort_key(p: ReportingPeriod) -> tuple[int, int]:
    """Chronological order: Q1..Q4 of a year, then its annual round."""
    return (p.year, p.quarter if p.quarter is not None else 5)


def periods_of(framework: Framework) -> list[ReportingPeriod]:
    return sorted(ReportingPeriod.objects.filter(framework=framework), key=period_sort_key)


def previous_period(period: ReportingPeriod, periods: Iterable[ReportingPeriod]):
    before = [p for p in periods if period_sort_key(p) < period_sort_key(period)]
    return before[-1] if before else None


# --- scope ------------------------------------------------------------------------------------


def group_contains(group: AgencyGroup, agency: Agency) -> bool:
    """Whether ``agency`` is a member of ``group`` (members prefetched)."""
    if agency.is_active and agency.kind in (group.kinds or []):
        return True
    return any(m.pk == agency.pk for m in group.members.all())


@dataclass
class SubInfo:
    indicator: Indicator
    coordinators: list[str]
    coordinator_agency_ids: set[int]
    coordinator_groups: list[AgencyGroup]

    @property
    def code(self) -> str:
        return self.indicator.code


def load_tree(framework: Framework) -> tuple[list[Indicator], list[SubInfo]]:
    """Main indices and sub-indicators (with lead, coordinating agencies and groups): 4 queries."""
    nodes = list(
        Indicator.objects.filter(
            framework=framework, level__in=[Indicator.Level.MAIN, Indicator.Level.SUB]
        )
        .select_related("lead_agency", "parent")
        .prefetch_related(
            Prefetch("coordinating_agencies", queryset=Agency.objects.order_by("name")),
            Prefetch(
                "coordinating_groups",
                queryset=AgencyGroup.objects.order_by("name").prefetch_related("members"),
            ),
        )
        .order_by("sort_key")
    )
    mains = [n for n in nodes if n.level == Indicator.Level.MAIN]
    subs = []
    for n in nodes:
        if n.level != Indicator.Level.SUB:
            continue
        groups = list(n.coordinating_groups.all())
        agencies = list(n.coordinating_agencies.all())
        subs.append(
            SubInfo(
                indicator=n,
                coordinators=[g.name for g in groups] + [a.display_name for a in agencies],
                coordinator_agency_ids={a.pk for a in agencies},
                coordinator_groups=groups,
            )
        )
    return mains, subs


def main_code_of(sub: Indicator, mains_by_id: Mapping[int, Indicator]) -> str:
    parent = mains_by_id.get(sub.parent_id) if sub.parent_id else None
    return parent.code if parent else ""


def is_lead_or_coordinator(info: SubInfo, agency: Agency) -> tuple[bool, bool]:
    lead = info.indicator.lead_agency_id == agency.pk
    coord = agency.pk in info.coordinator_agency_ids or any(
        group_contains(g, agency) for g in info.coordinator_groups
    )
    return lead, coord


def visible_codes(
    user: Any, subs: Iterable[SubInfo], reported: Mapping[int, set[int]] | None = None
) -> set[str] | None:
    """Codes of the sub-indicators ``user`` sees; None = all (province users).

    ``reported`` maps indicator id → agency ids with a submission in the period.
    """
    if getattr(user, "sees_province", False):
        return None
    agency = getattr(user, "agency", None)
    if agency is None:
        return set()
    out = set()
    for info in subs:
        lead, coord = is_lead_or_coordinator(info, agency)
        if lead or coord or agency.pk in (reported or {}).get(info.indicator.pk, set()):
            out.add(info.code)
    return out


# --- the score table (rows of the appendix with points of every kind) -------------------------


@dataclass
class SubRow:
    code: str
    name: str
    main_code: str
    max_points: Decimal
    indicator_id: int
    lead_agency: str
    lead_agency_id: int | None
    coordinators: list[str]
    points: dict[str, Decimal | None]
    state: str = ""
    state_label: str = ""
    evidence_count: int = 0
    at_risk: bool = False
    risk_reason: str = ""
    lineage: dict[str, dict] = field(default_factory=dict)

    def lost(self, kind: str) -> Decimal | None:
        pts = self.points.get(kind)
        return None if pts is None else self.max_points - pts


@dataclass
class MainRow:
    code: str
    name: str
    max_points: Decimal
    points: dict[str, Decimal | None]
    values: dict[str, Decimal | None]
    subs: list[SubRow]

    @property
    def indicator_count(self) -> int:
        return len(self.subs)


@dataclass
class ScoreTable:
    framework: Framework
    period: ReportingPeriod | None
    province_scope: bool
    mains: list[MainRow]
    totals: dict[str, Decimal | None]
    max_total: Decimal
    snapshots: dict[str, ScoreSnapshot]
    visible: set[str] | None
    sub_infos: list[SubInfo]
    stale: bool = False

    @property
    def subs(self) -> list[SubRow]:
        return [s for m in self.mains for s in m.subs]

    def dti(self, kind: str) -> Decimal | None:
        snap = self.snapshots.get(kind)
        if self.province_scope and snap is not None:
            return snap.dti
        total = self.totals.get(kind)
        return None if total is None else total / dti_scale(self.framework)

    def figure(self, kind: str, name: str) -> Decimal | None:
        """points_at_risk / max_reachable for the scope."""
        snap = self.snapshots.get(kind)
        if snap is None:
            return None
        if self.province_scope:
            return getattr(snap, name)
        if name == "points_at_risk":
            return sum(
                (s.max_points - (s.points.get(kind) or ZERO) for s in self.subs if s.at_risk), ZERO
            )
        if name == "max_reachable":
            # Points kept + every at-risk item's remaining points.
            return sum(
                (s.max_points if s.at_risk else (s.points.get(kind) or ZERO) for s in self.subs),
                ZERO,
            )
        return None


def dti_scale(framework: Framework) -> Decimal:
    """DTI = total points ÷ the framework's total (1000; DOMAIN.md §5), as the engine does."""
    return framework.total_points if framework.total_points > 0 else Decimal(1000)


def snapshots_for(framework: Framework, period: ReportingPeriod | None) -> dict[str, ScoreSnapshot]:
    if period is None:
        return {}
    return {s.kind: s for s in ScoreSnapshot.objects.filter(framework=framework, period=period)}


def score_table(*, user: Any, framework: Framework, period: ReportingPeriod | None) -> ScoreTable:
    """Every main index and sub-indicator the user sees, with points of each kind (8 queries)."""
    mains, sub_infos = load_tree(framework)
    snaps = snapshots_for(framework, period)
    subs_qs = (
        Submission.objects.filter(period=period, indicator__framework=framework)
        .annotate(n_evidence=Count("evidence"))
        .only("id", "indicator_id", "agency_id", "state", "is_consolidation")
        if period is not None
        else Submission.objects.none()
    )
    by_indicator: dict[int, list[Submission]] = defaultdict(list)
    for s in subs_qs:
        by_indicator[s.indicator_id].append(s)
    reported = {iid: {s.agency_id for s in lst} for iid, lst in by_indicator.items()}
    visible = visible_codes(user, sub_infos, reported)
    agency = None if visible is None else getattr(user, "agency", None)
    state_labels = dict(Submission.State.choices)
    mains_by_id = {m.pk: m for m in mains}
    rows_by_main: dict[str, list[SubRow]] = defaultdict(list)
    for info in sub_infos:
        ind = info.indicator
        if visible is not None and ind.code not in visible:
            continue
        lineage = {k: (snaps[k].lineage or {}).get(ind.code, {}) for k in snaps}
        subs_here = by_indicator.get(ind.pk, [])
        lead_sub = next(
            (s for s in subs_here if s.is_consolidation or s.agency_id == ind.lead_agency_id),
            None,
        )
        if agency is not None and ind.lead_agency_id != agency.pk:
            counted = [s for s in subs_here if s.agency_id == agency.pk]
        else:
            counted = subs_here
        base = lineage.get(ScoreKind.APPRAISED) or lineage.get(ScoreKind.SELF_ASSESSED) or {}
        state = lead_sub.state if lead_sub else ""
        rows_by_main[main_code_of(ind, mains_by_id)].append(
            SubRow(
                code=ind.code,
                name=ind.name,
                main_code=main_code_of(ind, mains_by_id),
                max_points=ind.max_points,
                indicator_id=ind.pk,
                lead_agency=ind.lead_agency.display_name if ind.lead_agency else "",
                lead_agency_id=ind.lead_agency_id,
                coordinators=info.coordinators,
                points={k: dec(lineage[k].get("points")) if k in lineage else None for k in KINDS},
                state=state,
                state_label=str(state_labels.get(state, _("Chưa báo cáo"))),
                evidence_count=sum(getattr(s, "n_evidence", 0) for s in counted),
                at_risk=bool(base.get("at_risk")),
                risk_reason=str(base.get("risk_reason") or ""),
                lineage=lineage,
            )
        )
    main_rows = []
    for m in mains:
        subs = rows_by_main.get(m.code, [])
        if visible is not None and not subs:
            continue
        if visible is None:
            snap_main = {
                k: {d.get("code"): d for d in (snaps[k].main_indices or [])} for k in snaps
            }
            points = {
                k: dec(snap_main[k].get(m.code, {}).get("points")) if k in snap_main else None
                for k in KINDS
            }
            values = {
                k: dec(snap_main[k].get(m.code, {}).get("value")) if k in snap_main else None
                for k in KINDS
            }
            max_points = m.max_points
        else:
            max_points = sum((s.max_points for s in subs), ZERO)
            points = {
                k: sum((s.points[k] or ZERO for s in subs), ZERO) if k in snaps else None
                for k in KINDS
            }
            values = {
                k: (p / max_points if (p is not None and max_points) else None)
                for k, p in points.items()
            }
        main_rows.append(
            MainRow(
                code=m.code,
                name=m.name,
                max_points=max_points,
                points=points,
                values=values,
                subs=subs,
            )
        )
    if visible is None:
        totals = {k: snaps[k].total_points if k in snaps else None for k in KINDS}
        max_total = framework.total_points
    else:
        totals = {
            k: sum((r.points[k] or ZERO for r in main_rows), ZERO) if k in snaps else None
            for k in KINDS
        }
        max_total = sum((r.max_points for r in main_rows), ZERO)
    state = (
        ScoreState.objects.filter(framework=framework, period=period).first() if period else None
    )
    return ScoreTable(
        framework=framework,
        period=period,
        province_scope=visible is None,
        mains=main_rows,
        totals=totals,
        max_total=max_total,
        snapshots=snaps,
        visible=visible,
        sub_infos=sub_infos,
        stale=bool(snaps) and (state is None or state.stale or state.enqueue_failed_at is not None),
    )


# --- national results -------------------------------------------------------------------------


def same_province(a: str, b: str) -> bool:
    """Province names compared without case or diacritics ("Khánh Hòa" = "Khánh Hoà")."""
    return normalize_name(a).replace("tinh ", "") == normalize_name(b).replace("tinh ", "")


def national_rows(framework: Framework | None = None) -> tuple[int | None, list[NationalResult]]:
    """The latest year's national table (of ``framework`` when it has one, else any): 2 queries."""
    qs = NationalResult.objects.all()
    if framework is not None and qs.filter(framework=framework).exists():
        qs = qs.filter(framework=framework)
    year = qs.order_by("-year").values_list("year", flat=True).first()
    if year is None:
        return None, []
    return year, list(qs.filter(year=year).select_related("framework").order_by("rank"))


def own_row(rows: Iterable[NationalResult]) -> NationalResult | None:
    return next((r for r in rows if same_province(r.province, settings.PROVINCE_NAME)), None)


def rank_among(value: Decimal, others: Iterable[Decimal]) -> int:
    """Competition rank of ``value`` among ``others`` (ties share the better rank)."""
    return 1 + sum(1 for o in others if o > value)


def national_comparison(framework: Framework) -> dict[str, Any] | None:
    """Our published rank overall and per main index, main indices in the top 10 (Plan 4636)."""
    year, rows = national_rows(framework)
    if not rows:
        return None
    ours = own_row(rows)
    fw = rows[0].framework
    weights = {
        m.code: m.max_points
        for m in Indicator.objects.filter(framework=fw, level=Indicator.Level.MAIN).order_by(
            "sort_key"
        )
    }
    scored = [c for c, w in weights.items() if w > 0]
    mains: list[dict[str, Any]] = []
    if ours is not None:
        for code in scored:
            mine = dec((ours.main_values or {}).get(code))
            if mine is None:
                continue
            others = [
                v
                for r in rows
                if r.pk != ours.pk and (v := dec((r.main_values or {}).get(code))) is not None
            ]
            mains.append({"code": code, "value": mine, "rank": rank_among(mine, others)})
    return {
        "year": year,
        "framework": fw.code,
        "provinces": len(rows),
        "province": ours.province if ours else settings.PROVINCE_NAME,
        "found": ours is not None,
        "dti": ours.dti if ours else None,
        "rank": ours.rank if ours else None,
        "main_indices": mains,
        "top10": sum(1 for m in mains if m["rank"] <= 10),
        "top10_target": 4,
        "scored_main_count": len(scored),
        "rows": rows,
    }


def last_official(framework: Framework) -> NationalResult | None:
    """The province's latest published national result, whatever the framework (2 queries)."""
    years = NationalResult.objects.order_by("-year").values_list("year", flat=True).distinct()[:1]
    if not years:
        return None
    return own_row(NationalResult.objects.filter(year=years[0]))


# --- overdue and returned items ---------------------------------------------------------------


def items_overdue_or_returned(
    *, user: Any, period: ReportingPeriod | None, table: ScoreTable
) -> list[dict[str, Any]]:
    """Submissions returned or still with the agency after their deadline, and sub-indicators
    that nothing was reported for after the deadline (2 queries)."""
    if period is None:
        return []
    visible = table.visible
    today = timezone.localdate()
    extensions = {
        (e.indicator_id, e.agency_id): e.deadline
        for e in ItemExtension.objects.filter(period=period).only(
            "indicator_id", "agency_id", "deadline"
        )
    }
    qs = (
        Submission.objects.filter(period=period, state__in=WAITING_FOR_AGENCY)
        .select_related("indicator", "agency")
        .order_by("indicator__sort_key", "agency__name")
    )
    if visible is not None:
        agency_id = getattr(user, "agency_id", None)
        qs = qs.filter(Q(agency_id=agency_id) | Q(indicator__lead_agency_id=agency_id))
    out = []
    labels = dict(Submission.State.choices)
    for s in qs:
        deadline = extensions.get((s.indicator_id, s.agency_id), period.deadline)
        overdue = deadline < today
        if s.state != Submission.State.RETURNED and not overdue:
            continue
        out.append(
            {
                "submission_id": s.pk,
                "code": s.indicator.code,
                "name": s.indicator.name,
                "agency": s.agency.display_name,
                "state": s.state,
                "state_label": str(labels.get(s.state, s.state)),
                "deadline": deadline,
                "overdue": overdue,
                "returned": s.state == Submission.State.RETURNED,
                "max_points": s.indicator.max_points,
            }
        )
    listed = {it["code"] for it in out}
    for row in table.subs:
        if row.risk_reason == "overdue" and row.code not in listed and not row.state:
            out.append(
                {
                    "submission_id": None,
                    "code": row.code,
                    "name": row.name,
                    "agency": row.lead_agency,
                    "state": "missing",
                    "state_label": _("Chưa báo cáo"),
                    "deadline": period.deadline,
                    "overdue": True,
                    "returned": False,
                    "max_points": row.max_points,
                }
            )
    return out


# --- the dashboard ----------------------------------------------------------------------------


def headline_kind(table: ScoreTable) -> str:
    """The kind shown as the expected score: appraised when computed, else self-assessed."""
    for k in (ScoreKind.APPRAISED, ScoreKind.SELF_ASSESSED, ScoreKind.FINAL):
        if k in table.snapshots:
            return k
    return ScoreKind.APPRAISED


def trend(
    *, framework: Framework, visible: set[str] | None, periods: list[ReportingPeriod]
) -> list[dict[str, Any]]:
    """Points of every kind for every period with snapshots, oldest first (1 query)."""
    qs = ScoreSnapshot.objects.filter(framework=framework)
    if visible is None:
        qs = qs.defer("lineage", "agencies", "main_indices")
    by_period: dict[int, dict[str, Decimal | None]] = defaultdict(dict)
    for snap in qs:
        if visible is None:
            pts = snap.total_points
        else:
            lin = snap.lineage or {}
            pts = sum((dec(lin[c].get("points")) or ZERO for c in visible if c in lin), ZERO)
        by_period[snap.period_id][snap.kind] = pts
    return [
        {
            "period_id": p.pk,
            "label": str(p),
            **{k: by_period[p.pk].get(k) for k in KINDS},
        }
        for p in periods
        if p.pk in by_period
    ]


def dashboard(
    *,
    user: Any,
    framework: Framework,
    period: ReportingPeriod | None,
    top: int = 10,
    kind: str | None = None,
) -> dict[str, Any]:
    """Every figure of the province dashboard for ``user`` (a fixed number of queries).

    ``kind``: the score kind of the headline figures (default: appraised when computed).
    """
    table = score_table(user=user, framework=framework, period=period)
    periods = periods_of(framework)
    if kind not in table.snapshots:
        kind = headline_kind(table)
    total = table.totals.get(kind)
    target = Decimal(settings.DTI_TARGET_POINTS)
    official = last_official(framework) if table.province_scope else None
    losing = sorted(
        (s for s in table.subs if s.points.get(kind) is not None and s.max_points > 0),
        key=lambda s: (-(s.lost(kind) or ZERO), s.code),
    )
    losing_rows = [
        {
            "code": s.code,
            "name": s.name,
            "main_code": s.main_code,
            "lead_agency": s.lead_agency,
            "max_points": s.max_points,
            "points": s.points.get(kind),
            "lost": s.lost(kind),
            "state_label": s.state_label,
        }
        for s in losing
        if (s.lost(kind) or ZERO) > 0
    ][:top]
    at_risk_by_reason: dict[str, int] = defaultdict(int)
    for s in table.subs:
        if s.at_risk:
            at_risk_by_reason[s.risk_reason or "other"] += 1
    return {
        "table": table,
        "framework": framework,
        "period": period,
        "periods": periods,
        "kind": kind,
        "kind_label": str(ScoreKind(kind).label),
        "province_scope": table.province_scope,
        "agency": None if table.province_scope else getattr(user, "agency", None),
        "total_points": total,
        "dti": table.dti(kind),
        "totals": table.totals,
        "dtis": {k: table.dti(k) for k in KINDS},
        "max_total": table.max_total,
        "target_points": target if table.province_scope else None,
        "target_gap": (target - total) if (table.province_scope and total is not None) else None,
        "target_surplus": (total - target)
        if (table.province_scope and total is not None)
        else None,
        "official": official,
        "official_points": official.dti * 1000 if official else None,
        "official_gap": (total - official.dti * 1000) if (official and total is not None) else None,
        "points_at_risk": table.figure(kind, "points_at_risk"),
        "max_reachable": table.figure(kind, "max_reachable"),
        "at_risk_by_reason": dict(at_risk_by_reason),
        "trend": trend(framework=framework, visible=table.visible, periods=periods),
        "losing": losing_rows,
        "overdue_returned": items_overdue_or_returned(user=user, period=period, table=table),
        "national": national_comparison(framework) if table.province_scope else None,
        "stale": table.stale,
        "computed_at": max((s.computed_at for s in table.snapshots.values()), default=None),
    }


def chart_data(dash: Mapping[str, Any]) -> dict[str, Any]:
    """Plain JSON for the Chart.js charts (rendered with ``json_script``)."""
    table: ScoreTable = dash["table"]

    def f(x: Decimal | None) -> float | None:
        return None if x is None else float(x)

    return {
        "mains": {
            "labels": [m.code for m in table.mains],
            "names": [m.name for m in table.mains],
            "max": [f(m.max_points) for m in table.mains],
            "self_assessed": [f(m.points.get(ScoreKind.SELF_ASSESSED)) for m in table.mains],
            "appraised": [f(m.points.get(ScoreKind.APPRAISED)) for m in table.mains],
        },
        "trend": {
            "labels": [t["label"] for t in dash["trend"]],
            **{k: [f(t.get(k)) for t in dash["trend"]] for k in KINDS},
            "target": f(dash["target_points"]),
        },
        "series_labels": {
            **{k: str(ScoreKind(k).label) for k in KINDS},
            "max": _("Điểm tối đa"),
            "target": _("Mục tiêu của tỉnh"),
        },
    }


# --- drill-down -------------------------------------------------------------------------------


def display_value(measure: Any, raw: Any) -> str:
    """A reported value as people read it: a level's label, Có/Không, 1.234,5."""
    if raw is None or raw == "":
        return ""
    if measure.kind == "level":
        for c in measure.choices or []:
            if isinstance(c, Mapping) and str(c.get("key")) == str(raw):
                return str(c.get("label") or raw)
        return str(raw)
    if measure.kind == "boolean":
        return _("Có") if str(raw) in ("1", "true", "True") else _("Không")
    if measure.kind == "text":
        return str(raw)
    d = dec(raw)
    if d is None:
        return str(raw)
    from django.utils.formats import number_format

    places = max(0, -d.normalize().as_tuple().exponent)  # type: ignore[operator]
    return number_format(d, decimal_pos=min(places, 4), use_l10n=True, force_grouping=True)


def main_index_detail(*, user: Any, framework: Framework, period, code: str) -> dict[str, Any]:
    table = score_table(user=user, framework=framework, period=period)
    main = next((m for m in table.mains if m.code == code), None)
    if main is None:
        raise NotFound(_("Không tìm thấy chỉ số chính."))
    return {"table": table, "main": main, "framework": framework, "period": period}


def sub_indicator_detail(*, user: Any, framework: Framework, period, code: str) -> dict[str, Any]:
    """A sub-indicator: its points and lineage, the contributing agencies' submissions with values,
    evidence and transition history (scoped), and its points in every period."""
    table = score_table(user=user, framework=framework, period=period)
    row = next((s for s in table.subs if s.code == code), None)
    if row is None:
        raise NotFound(_("Không tìm thấy chỉ số thành phần."))
    indicator = next(i.indicator for i in table.sub_infos if i.code == code)
    measures = list(indicator.measures.all())
    subs_qs = (
        Submission.objects.filter(indicator_id=row.indicator_id, period=period)
        .select_related("agency")
        .prefetch_related(
            Prefetch("evidence", queryset=EvidenceFile.objects.order_by("created_at", "id")),
            Prefetch(
                "transitions",
                queryset=SubmissionTransition.objects.select_related(
                    "actor", "actor_agency"
                ).order_by("created_at", "id"),
            ),
        )
        .order_by("-is_consolidation", "agency__name")
    )
    agency_id = getattr(user, "agency_id", None)
    if not table.province_scope and row.lead_agency_id != agency_id:
        subs_qs = subs_qs.filter(agency_id=agency_id or 0)
    labels = dict(Submission.State.choices)
    contributions = []
    for s in subs_qs if period is not None else []:
        contributions.append(
            {
                "submission": s,
                "agency": s.agency,
                "is_lead": s.agency_id == row.lead_agency_id or s.is_consolidation,
                "state_label": str(labels.get(s.state, s.state)),
                "values": [
                    {
                        "label": m.label,
                        "unit": m.unit,
                        "value": display_value(m, (s.values or {}).get(m.code)),
                    }
                    for m in measures
                ],
                "evidence": list(s.evidence.all()),
                "history": [
                    {
                        "at": t.created_at,
                        "actor": str(t.actor),
                        "agency": t.actor_agency.display_name if t.actor_agency else "",
                        "from": str(labels.get(t.from_state, t.from_state or "—")),
                        "to": str(labels.get(t.to_state, t.to_state)),
                        "reason": t.reason,
                    }
                    for t in s.transitions.all()
                ],
            }
        )
    history = []
    qs = ScoreSnapshot.objects.filter(framework=framework).select_related("period")
    per_period: dict[int, dict[str, Any]] = {}
    for snap in qs:
        entry = per_period.setdefault(snap.period_id, {"period": snap.period})
        entry[snap.kind] = dec(((snap.lineage or {}).get(code) or {}).get("points"))
    for _pid, entry in sorted(per_period.items(), key=lambda kv: period_sort_key(kv[1]["period"])):
        history.append(entry)
    return {
        "table": table,
        "row": row,
        "explain": row.lineage.get(ScoreKind.APPRAISED)
        or row.lineage.get(ScoreKind.SELF_ASSESSED)
        or {},
        "indicator": indicator,
        "main": next((m for m in table.mains if m.code == row.main_code), None),
        "measures": measures,
        "contributions": contributions,
        "history": history,
        "framework": framework,
        "period": period,
    }


# --- league table -----------------------------------------------------------------------------


def _deadline_end(day: datetime.date) -> datetime.datetime:
    """The end of a deadline day in the portal's time zone (aware)."""
    naive = datetime.datetime.combine(day, datetime.time.max)
    return timezone.make_aware(naive, timezone.get_default_timezone())


def agency_figures(
    *,
    framework: Framework,
    period: ReportingPeriod,
    sub_infos: list[SubInfo],
    agencies: list[Agency],
    kind: str,
) -> list[league_mod.AgencyFigures]:
    """Per-agency figures of one period (3 queries)."""
    snap = ScoreSnapshot.objects.filter(framework=framework, period=period, kind=kind).first()
    lineage = snap.lineage if snap else {}
    extensions = {
        (e.indicator_id, e.agency_id): e.deadline
        for e in ItemExtension.objects.filter(period=period).only(
            "indicator_id", "agency_id", "deadline"
        )
    }
    subs = (
        Submission.objects.filter(period=period, indicator__framework=framework)
        .annotate(
            first_submit=Min(
                "transitions__created_at", filter=Q(transitions__to_state__in=SUBMIT_STATES)
            ),
            n_returns=Count(
                "transitions", filter=Q(transitions__to_state=Submission.State.RETURNED)
            ),
        )
        .only("id", "indicator_id", "agency_id", "state", "submitted_at")
    )
    by_agency: dict[int, dict[int, Any]] = defaultdict(dict)
    for row in subs:
        by_agency[row.agency_id][row.indicator_id] = row
    out = []
    for agency in agencies:
        lead_max = lead_pts = coord_credit = ZERO
        lead_items = coord_items = coord_contributed = due = on_time = submitted = returns = 0
        own = by_agency.get(agency.pk, {})
        for info in sub_infos:
            ind = info.indicator
            lead, coord = is_lead_or_coordinator(info, agency)
            if not (lead or coord):
                continue
            due += 1
            s = own.get(ind.pk)
            done = s is not None and s.state not in (
                Submission.State.DRAFT,
                Submission.State.RETURNED,
            )
            if s is not None and s.first_submit is not None:  # type: ignore[attr-defined]
                submitted += 1
                deadline = extensions.get((ind.pk, agency.pk), period.deadline)
                if s.first_submit <= _deadline_end(deadline):  # type: ignore[attr-defined]
                    on_time += 1
            if lead:
                lead_items += 1
                if ind.max_points > 0:
                    lead_max += ind.max_points
                    lead_pts += dec((lineage.get(ind.code) or {}).get("points")) or ZERO
            else:
                coord_items += 1
                if done:
                    coord_contributed += 1
                    if ind.max_points > 0:
                        pts = dec((lineage.get(ind.code) or {}).get("points")) or ZERO
                        coord_credit += pts / ind.max_points
                    else:
                        coord_credit += 1
            if s is not None:
                returns += s.n_returns  # type: ignore[attr-defined]
        out.append(
            league_mod.AgencyFigures(
                agency_id=agency.pk,
                name=agency.display_name,
                lead_max_points=lead_max,
                lead_points=lead_pts,
                lead_items=lead_items,
                coord_items=coord_items,
                coord_contributed=coord_contributed,
                coord_credit=coord_credit,
                due_items=due,
                on_time=on_time,
                submitted=submitted,
                returns=returns,
            )
        )
    return out


def league_table(
    *,
    user: Any,
    framework: Framework,
    period: ReportingPeriod | None,
    kind: str = ScoreKind.APPRAISED,
) -> dict[str, Any]:
    """The agency league table of ``period`` with movement since the previous period.

    Province users see every agency; agency staff see their own row only (with its rank).
    """
    if period is None:
        return {"rows": [], "period": None, "previous": None, "kind": kind}
    _mains, sub_infos = load_tree(framework)
    agencies = list(Agency.objects.filter(is_active=True).order_by("name"))
    thresholds = settings.DTI_LEAGUE_BANDS
    periods = periods_of(framework)
    prev = previous_period(period, periods)
    prev_ranks: dict[int, int | None] = {}
    if prev is not None:
        prev_rows = league_mod.build_league(
            agency_figures(
                framework=framework,
                period=prev,
                sub_infos=sub_infos,
                agencies=agencies,
                kind=kind,
            ),
            thresholds=thresholds,
        )
        prev_ranks = league_mod.ranks_by_agency(prev_rows)
    rows = league_mod.build_league(
        agency_figures(
            framework=framework, period=period, sub_infos=sub_infos, agencies=agencies, kind=kind
        ),
        thresholds=thresholds,
        previous=prev_ranks,
    )
    own_agency = None if getattr(user, "sees_province", False) else getattr(user, "agency_id", None)
    if own_agency is not None:
        rows = [r for r in rows if r.figures.agency_id == own_agency]
    return {
        "rows": rows,
        "period": period,
        "previous": prev,
        "kind": kind,
        "kind_label": str(ScoreKind(kind).label),
        "thresholds": thresholds,
        "own_agency_id": own_agency,
        "province_scope": own_agency is None,
    }
