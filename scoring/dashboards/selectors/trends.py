"""Trends: a framework's points period by period, the province's or a scope's total and one
sub-indicator's, preceded by earlier framework versions' periods mapped onto the framework's codes
through the crosswalk, so that a trend survives a change of the framework (DOMAIN.md §3).

Rules (what counts):

- An earlier version is a framework linked to this one, directly or through other versions, by
  ``previous_version`` or by crosswalk rows (either direction), of the same unit type, not a draft.
  The nearest version (fewest links) answers for a period; a period is taken from an earlier
  version only if it comes before this framework's first period (this framework's own periods are
  never replaced).
- Codes map only through explicit crosswalk rows (``framework_new_version`` writes one per code);
  the same code in two versions is *not* assumed to mean the same thing. Rows chain through
  intermediate versions (2022 → 2025 → 2026); one old code may map to several new codes and the
  reverse.
- The province's total of an earlier period is comparable whatever the codes (the DTI is the DTI):
  it is the earlier snapshot's total scaled to this framework's total points
  (``points × this total ÷ that total``, full precision). A scoped total (agency staff) and a
  sub-indicator's history sum the points of the earlier codes that map to the codes in scope,
  unscaled, each earlier code counted once; a period where none of them had data is a gap.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q

from evidence.models import ReportingPeriod
from indicators.models import Crosswalk, Framework

from ...models import ScoreSnapshot
from .common import KINDS, ZERO, dec, period_sort_key, periods_of

#: How many links away an earlier version may be (a province changes its set every 2-3 years).
MAX_LINKS = 6


@dataclass(frozen=True)
class EarlierVersion:
    """An earlier framework and how its codes map onto the framework looked at."""

    framework: Framework
    links: int
    #: earlier code → the codes of the framework looked at that it maps to
    codes: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def scale_to(self, framework: Framework) -> Decimal:
        """Factor bringing this version's total points onto ``framework``'s scale."""
        if not self.framework.total_points:
            return Decimal(0)
        return Decimal(framework.total_points) / Decimal(self.framework.total_points)

    def codes_into(self, targets: Iterable[str]) -> set[str]:
        """The earlier codes that map to any of ``targets``."""
        wanted = set(targets)
        return {old for old, new in self.codes.items() if new & wanted}


def _edges(pairs: Iterable[tuple[int, int]]) -> dict[int, set[int]]:
    graph: dict[int, set[int]] = defaultdict(set)
    for a, b in pairs:
        if a != b:
            graph[a].add(b)
            graph[b].add(a)
    return graph


def earlier_versions(*, framework: Framework) -> list[EarlierVersion]:
    """The framework's earlier versions with their code maps, nearest first (4 queries whatever the
    number of versions, codes or crosswalk rows)."""
    frameworks = {
        f.pk: f
        for f in Framework.objects.exclude(status=Framework.Status.DRAFT).filter(
            unit_type=framework.unit_type
        )
    }
    frameworks[framework.pk] = framework
    links = [(f.pk, f.previous_version_id) for f in frameworks.values() if f.previous_version_id]
    links += list(
        Crosswalk.objects.filter(source_id__in=frameworks, target_id__in=frameworks)
        .values_list("source_id", "target_id")
        .distinct()
    )
    graph = _edges((a, b) for a, b in links if a in frameworks and b in frameworks)
    # Breadth first: the path to each reachable version through the fewest links.
    parent: dict[int, int] = {framework.pk: framework.pk}
    depth = {framework.pk: 0}
    queue = deque([framework.pk])
    while queue:
        node = queue.popleft()
        if depth[node] >= MAX_LINKS:
            continue
        for nxt in sorted(graph.get(node, ())):
            if nxt not in parent:
                parent[nxt] = node
                depth[nxt] = depth[node] + 1
                queue.append(nxt)
    reached = [pk for pk in parent if pk != framework.pk]
    if not reached:
        return []
    on_paths = {(pk, parent[pk]) for pk in reached}
    # One code map per link on a path (rows in either direction read as old → newer).
    step: dict[tuple[int, int], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    cond = Q(pk__in=[])
    for old, newer in on_paths:
        cond |= Q(source_id=old, target_id=newer) | Q(source_id=newer, target_id=old)
    for src, tgt, scode, tcode in Crosswalk.objects.filter(cond).values_list(
        "source_id", "target_id", "source_code", "target_code"
    ):
        if (src, tgt) in on_paths:
            step[(src, tgt)][scode].add(tcode)
        if (tgt, src) in on_paths:
            step[(tgt, src)][tcode].add(scode)
    out = []
    for pk in sorted(reached, key=lambda p: (depth[p], -frameworks[p].year, p)):
        # Compose the maps from this version up to the framework looked at.
        codes: dict[str, set[str]] = {}
        node = pk
        while node != framework.pk:
            up = parent[node]
            hop = step.get((node, up), {})
            if node == pk:
                codes = {old: set(new) for old, new in hop.items()}
            else:
                codes = {
                    old: {t for m in mids for t in hop.get(m, ())} for old, mids in codes.items()
                }
            node = up
        out.append(
            EarlierVersion(
                framework=frameworks[pk],
                links=depth[pk],
                codes={old: frozenset(new) for old, new in codes.items() if new},
            )
        )
    return out


def earlier_periods(
    *, framework: Framework, versions: list[EarlierVersion], own: list[ReportingPeriod]
) -> dict[int, tuple[ReportingPeriod, EarlierVersion]]:
    """Period id → (period, version) of the earlier versions' periods shown before ``own`` (1
    query): before this framework's first period (before its year when it has none), one
    version per (year, quarter), the nearest."""
    if not versions:
        return {}
    # Before the framework's first period, or, when it has none yet, before its year: a newer
    # version linked to it never passes for an earlier one.
    first = min(((p.year, p.quarter or 5) for p in own), default=(framework.year, 0))
    by_fw = {v.framework.pk: v for v in versions}
    chosen: dict[tuple[int, int], tuple[ReportingPeriod, EarlierVersion]] = {}
    for p in ReportingPeriod.objects.filter(framework_id__in=by_fw).order_by("pk"):
        key = (p.year, p.quarter or 5)
        if key >= first:
            continue
        version = by_fw[p.framework_id]
        held = chosen.get(key)
        if held is None or version.links < held[1].links:
            chosen[key] = (p, version)
    return {p.pk: (p, v) for p, v in chosen.values()}


def trend(
    *,
    framework: Framework,
    visible: set[str] | None,
    periods: list[ReportingPeriod],
    earlier: list[EarlierVersion] | None = None,
) -> list[dict[str, Any]]:
    """Points of every kind for every period with snapshots, oldest first, preceded by the
    periods of ``earlier`` versions mapped through the crosswalk (see :mod:`.versions`; 2 queries).

    A kind's points are None (a gap in the chart, "—" in the table), not 0, when no sub-indicator
    of the scope had any data for it in that period: e.g. the annual round before anything was
    reported for it, whose snapshot totals 0 only because it is empty. Rows of an earlier version
    carry ``earlier`` (its framework) for the reader to be told.
    """
    versions = earlier or []
    before = earlier_periods(framework=framework, versions=versions, own=periods)
    qs = (
        ScoreSnapshot.objects.filter(
            Q(framework=framework) | Q(period_id__in=list(before)),
        )
        .only("framework_id", "period_id", "kind", "total_points", "lineage")
        .order_by("pk")
    )
    by_period: dict[int, dict[str, Decimal | None]] = defaultdict(dict)
    for snap in qs:
        lin = snap.lineage or {}
        version = before[snap.period_id][1] if snap.framework_id != framework.pk else None
        if version is None:
            codes = None if visible is None else visible
        else:
            codes = None if visible is None else version.codes_into(visible)
        entries = lin.values() if codes is None else [lin[c] for c in codes if c in lin]
        if not any(e.get("contributors") for e in entries):
            by_period[snap.period_id][snap.kind] = None
            continue
        if codes is None:
            pts = snap.total_points
            if version is not None:  # the DTI is comparable whatever the codes
                pts = pts * version.scale_to(framework)
        else:
            pts = sum((dec(e.get("points")) or ZERO for e in entries), ZERO)
        by_period[snap.period_id][snap.kind] = pts
    shown = sorted((p for p, _v in before.values()), key=period_sort_key) + list(periods)
    return [
        {
            "period_id": p.pk,
            "label": str(p),
            "annual": p.quarter is None,
            "framework_code": before[p.pk][1].framework.code if p.pk in before else framework.code,
            "earlier": before[p.pk][1].framework if p.pk in before else None,
            **{k: by_period[p.pk].get(k) for k in KINDS},
        }
        for p in shown
        # An earlier period with nothing mapped into the scope is left out, not a gap.
        if p.pk in by_period
        and (p.pk not in before or any(v is not None for v in by_period[p.pk].values()))
    ]


def sub_indicator_history(*, framework: Framework, code: str) -> list[dict[str, Any]]:
    """A sub-indicator's points of every kind in every period with snapshots, oldest first (None
    where nothing counted for that kind, as in :func:`trend`),
    preceded by earlier versions' periods where crosswalk rows map codes onto ``code`` (their
    points summed, ``old_codes`` named; see :mod:`.versions`). A fixed number of queries."""
    own = periods_of(framework)
    versions = earlier_versions(framework=framework)
    before = earlier_periods(framework=framework, versions=versions, own=own)
    olds = {pid: sorted(v.codes_into([code])) for pid, (_p, v) in before.items()}
    per_period: dict[int, dict[str, Any]] = {}
    qs = ScoreSnapshot.objects.filter(
        Q(framework=framework) | Q(period_id__in=[pid for pid, c in olds.items() if c])
    ).select_related("period")
    for snap in qs:
        lin = snap.lineage or {}
        if snap.framework_id == framework.pk:
            entry = per_period.setdefault(snap.period_id, {"period": snap.period})
            mine = lin.get(code) or {}
            # Nothing counted for this kind (not reported, or not sent): a gap, not 0 points.
            entry[snap.kind] = dec(mine.get("points")) if mine.get("contributors") else None
            continue
        version = before[snap.period_id][1]
        found = [lin[c] for c in olds[snap.period_id] if c in lin]
        entry = per_period.setdefault(
            snap.period_id,
            {
                "period": snap.period,
                "earlier": version.framework,
                "old_codes": ", ".join(olds[snap.period_id]),
            },
        )
        entry[snap.kind] = (
            sum((dec(e.get("points")) or ZERO for e in found), ZERO)
            if any(e.get("contributors") for e in found)
            else None
        )
    return sorted(per_period.values(), key=lambda e: period_sort_key(e["period"]))
