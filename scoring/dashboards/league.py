"""Agency league table (thi đua - khen thưởng): pure builders over plain data, no ORM.

An agency's **score** is normalised by what it was assigned: the points achieved on the
sub-indicators it leads over the max points of those sub-indicators (× 100). An agency that leads
nothing but coordinates is scored on its contributions, on the same scale: each sub-indicator it
coordinates weighs the same, and counts the fraction of that sub-indicator's points achieved when
the agency sent its contribution (0 when it did not).
An agency is **unranked** ("Chưa xếp hạng": listed last, no rank, no band, no movement) when it
has nothing assigned in the period, or has not sent anything yet in it: a rank of 0 % shared by
every agency that has not started says nothing and would move them up and down between periods.
Movement compares two periods in which the agency was ranked in both.
Ranks follow the Ministry's convention: ties share a rank and the next rank is skipped (1, 2, 2, 4).
A league may cover one unit type only (communes against communes, as a province compares them):
its ranks and movement are then among that type, and ``overall_rank`` keeps the province-wide rank.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

BAND_LABELS = (_("Xuất sắc"), _("Tốt"), _("Khá"), _("Trung bình"))
BAND_LOWEST = _("Yếu")
BAND_KEYS = ("excellent", "good", "fair", "average")
HUNDRED = Decimal(100)
SCORE_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class AgencyFigures:
    """What one agency did in one period (input of the league table)."""

    agency_id: int
    name: str
    lead_max_points: Decimal = Decimal(0)
    lead_points: Decimal = Decimal(0)
    lead_items: int = 0
    coord_items: int = 0
    coord_contributed: int = 0
    coord_credit: Decimal = Decimal(0)  # Σ achieved fraction of the items it contributed to
    due_items: int = 0
    on_time: int = 0
    submitted: int = 0
    returns: int = 0


@dataclass(frozen=True)
class LeagueRow:
    figures: AgencyFigures
    score: Decimal | None
    rank: int | None = None
    overall_rank: int | None = None  # among every agency; differs from ``rank`` within one type
    band: str = ""
    band_key: str = ""
    previous_rank: int | None = None
    movement: int | None = None  # positive: moved up since the previous period
    timeliness: Decimal | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ranked(self) -> bool:
        return self.rank is not None

    @property
    def unranked_reason(self) -> str:
        """Why the row has no rank: ``unassigned``, ``not_reported`` or "" (ranked)."""
        return unranked_reason(self.figures) if self.rank is None else ""


def unranked_reason(f: AgencyFigures) -> str:
    """``unassigned`` (nothing assigned in the period), ``not_reported`` (nothing sent yet) or ""
    when the agency is ranked."""
    if f.lead_max_points <= 0 and max(f.due_items, f.lead_items, f.coord_items) <= 0:
        return "unassigned"
    # Points or a counted contribution can only come from something sent.
    if f.submitted <= 0 and f.lead_points <= 0 and f.coord_contributed <= 0:
        return "not_reported"
    return ""


def agency_score(f: AgencyFigures) -> Decimal | None:
    """The normalised score (0–100, 2 decimals); None when the agency is unranked (nothing
    assigned, or nothing sent yet in the period)."""
    if unranked_reason(f):
        return None
    if f.lead_max_points > 0:
        raw = f.lead_points / f.lead_max_points * HUNDRED
    elif f.coord_items > 0:
        raw = f.coord_credit / Decimal(f.coord_items) * HUNDRED
    elif f.lead_items > 0:
        # Leads only 0-point (informational) items: judged on reporting them.
        raw = Decimal(f.submitted) / Decimal(f.lead_items) * HUNDRED
    else:
        return None
    raw = min(max(raw, Decimal(0)), HUNDRED)
    return raw.quantize(SCORE_PLACES, rounding=ROUND_HALF_UP)


def timeliness(f: AgencyFigures) -> Decimal | None:
    """Share (%) of the agency's due items submitted on time; None when nothing was due."""
    if f.due_items <= 0:
        return None
    return (Decimal(f.on_time) / Decimal(f.due_items) * HUNDRED).quantize(
        SCORE_PLACES, rounding=ROUND_HALF_UP
    )


def competition_ranks(scores: Sequence[Decimal | None]) -> list[int | None]:
    """Standard competition ranking, highest first: ties share a rank, the next is skipped.

    ``None`` scores are not ranked. Order of the result follows the input.
    """
    ranked = sorted((s for s in scores if s is not None), reverse=True)
    first_pos: dict[Decimal, int] = {}
    for pos, s in enumerate(ranked, start=1):
        first_pos.setdefault(s, pos)
    return [None if s is None else first_pos[s] for s in scores]


def band_for(score: Decimal | None, thresholds: Sequence[float | Decimal]) -> tuple[str, str]:
    """(label, key) of the rating band for ``score`` given the minimum score of each band."""
    if score is None:
        return "", ""
    for label, key, minimum in zip(BAND_LABELS, BAND_KEYS, thresholds, strict=False):
        if score >= Decimal(str(minimum)):
            return str(label), key
    return str(BAND_LOWEST), "weak"


def build_league(
    figures: Iterable[AgencyFigures],
    *,
    thresholds: Sequence[float | Decimal],
    previous: Mapping[int, int | None] | None = None,
    overall: Mapping[int, int | None] | None = None,
) -> list[LeagueRow]:
    """Ranks agencies: ranked ones by rank then name, unranked ones last by name.

    ``previous`` maps agency id → its rank in the previous period (for the movement column);
    movement is None unless the agency is ranked in both periods. ``overall`` maps agency id →
    its province-wide rank when ``figures`` are one unit type only; without it the rank is the
    overall rank.
    """
    figs = list(figures)
    scores = [agency_score(f) for f in figs]
    ranks = competition_ranks(scores)
    rows = []
    for f, score, rank in zip(figs, scores, ranks, strict=True):
        label, key = band_for(score, thresholds)
        prev = (previous or {}).get(f.agency_id)
        movement = prev - rank if (prev is not None and rank is not None) else None
        rows.append(
            LeagueRow(
                figures=f,
                score=score,
                rank=rank,
                overall_rank=rank if overall is None else overall.get(f.agency_id),
                band=label,
                band_key=key,
                previous_rank=prev,
                movement=movement,
                timeliness=timeliness(f),
            )
        )
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.figures.name))
    return rows


def ranks_by_agency(rows: Iterable[LeagueRow]) -> dict[int, int | None]:
    return {r.figures.agency_id: r.rank for r in rows}
