"""The score table: rows of the appendix with points of every kind, scoped to the user."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from evidence.models import (
    ReportingPeriod,
    Submission,
)
from indicators.models import Framework, Indicator

from ...models import ScoreKind, ScoreSnapshot, ScoreState
from .common import KINDS, ZERO, SubInfo, dec, load_tree, main_code_of, visible_codes

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
    group_code: str = ""  # the optional group above the main index (I, II: DOMAIN.md §3)

    @property
    def indicator_count(self) -> int:
        return len(self.subs)


@dataclass
class GroupRow:
    """A group of main indices (I, II), with the subtotals of its main indices in the scope."""

    code: str
    name: str
    max_points: Decimal
    points: dict[str, Decimal | None]
    mains: list[MainRow]


def group_rows(
    mains: list[MainRow], nodes: dict[str, Indicator], *, province_scope: bool
) -> list[GroupRow]:
    """The groups of ``mains`` in order (``nodes``: group code → group indicator). The province
    sees the group's own max points; a narrower scope the sum of the main indices it sees."""
    groups: dict[str, GroupRow] = {}
    for m in mains:
        node = nodes.get(m.group_code)
        if node is None:
            continue
        g = groups.setdefault(
            node.code,
            GroupRow(code=node.code, name=node.name, max_points=ZERO, points={}, mains=[]),
        )
        g.mains.append(m)
    for g in groups.values():
        g.max_points = (
            nodes[g.code].max_points
            if province_scope
            else sum((m.max_points for m in g.mains), ZERO)
        )
        g.points = {
            k: (
                sum((m.points[k] or ZERO for m in g.mains), ZERO)
                if any(m.points.get(k) is not None for m in g.mains)
                else None
            )
            for k in KINDS
        }
    return list(groups.values())


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
    groups: list[GroupRow] = field(default_factory=list)  # empty when the framework has none

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
        """points_at_risk / max_reachable for the scope, as the engine counts them for the
        province: an item at risk puts all its max points at risk (whatever it scores now), and
        the points still reachable are the points kept plus every at-risk item's max."""
        snap = self.snapshots.get(kind)
        if snap is None:
            return None
        if self.province_scope:
            return getattr(snap, name)
        if name == "points_at_risk":
            return sum((s.max_points for s in self.subs if s.at_risk), ZERO)
        if name == "max_reachable":
            # Points kept + every at-risk item's max points.
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
    # A draft is its agency's own (AC11): its state and files are counted for that agency only,
    # never for the province roles nor for the lead of a coordinator's draft.
    own_agency = None if getattr(user, "sees_province", False) else getattr(user, "agency_id", None)
    subs_qs = (
        Submission.objects.filter(period=period, indicator__framework=framework)
        .filter(~Q(state=Submission.State.DRAFT) | Q(agency_id=own_agency or 0))
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
                group_code=m.parent.code if m.parent_id and m.parent else "",
            )
        )
    group_nodes = {m.parent.code: m.parent for m in mains if m.parent_id and m.parent}
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
        groups=group_rows(main_rows, group_nodes, province_scope=visible is None),
    )
