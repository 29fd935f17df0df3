"""National figures: DTI from published main-index values, and competition ranks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, localcontext
from typing import Any

from indicators.scoring_rules import (
    round_display,
    to_decimal,
)

from .inputs import (
    _PREC,
    _ZERO,
)


def weighted_dti(
    values: Mapping[str, Decimal], weights: Mapping[str, Decimal], total: Decimal
) -> Decimal:
    """DTI from published main-index values (0–1): Σ value × weight ÷ total weight."""
    with localcontext() as ctx:
        ctx.prec = _PREC
        s = sum((values[c] * w for c, w in weights.items() if w > 0), _ZERO)
        return s / total if total > 0 else _ZERO


def competition_ranks(scores: Sequence[Decimal], places: int = 4) -> list[int]:
    """Ranks, highest first, ties (equal at ``places`` decimals) share a rank, the next is skipped
    (1, 2, 2, 4), as the Ministry publishes."""
    rounded = [round_display(s, places) or _ZERO for s in scores]
    return [1 + sum(1 for other in rounded if other > mine) for mine in rounded]


def to_decimal_or_zero(v: Any) -> Decimal:
    d = to_decimal(v)
    return d if d is not None else _ZERO
