"""Demo scores: recompute every period once the demo data is loaded (called by ``seed_demo``)."""

from __future__ import annotations

from .services import score_recompute_all


def seed_scores() -> int:
    """Recomputes the snapshots of every (framework, period); returns how many were computed."""
    return len(score_recompute_all())
