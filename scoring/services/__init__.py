"""Scoring writes: recompute requests (coalesced), the recompute itself, national results.

- :mod:`.requests`: a change asks for a recompute after commit, coalesced, never failing the
  change (broker down → stale, swept later).
- :mod:`.loading`: the recompute's inputs in a fixed number of queries.
- :mod:`.recompute`: the sequence-checked recompute that writes the snapshots.
- :mod:`.national`: the Ministry's published results imported.
"""

from ..models import ScoreKind
from .loading import Inputs, load_inputs
from .national import NationalRow, national_results_import, parse_national_table, ranks_differing
from .recompute import (
    RecomputeOutcome,
    score_recompute,
    score_recompute_all,
    score_sweep_stale,
)
from .requests import (
    COALESCE_COUNTDOWN,
    COALESCE_MARKER_TTL,
    SWEEP_GRACE_SECONDS,
    marker_clear,
    queued_marker_key,
    score_recompute_request,
)

__all__ = [
    "COALESCE_COUNTDOWN",
    "COALESCE_MARKER_TTL",
    "SWEEP_GRACE_SECONDS",
    "Inputs",
    "NationalRow",
    "RecomputeOutcome",
    "ScoreKind",
    "load_inputs",
    "marker_clear",
    "national_results_import",
    "parse_national_table",
    "ranks_differing",
    "queued_marker_key",
    "score_recompute",
    "score_recompute_all",
    "score_recompute_request",
    "score_sweep_stale",
]
