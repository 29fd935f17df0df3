"""The input hash: same inputs → same hash → the stored snapshot is kept."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import fields
from decimal import Decimal
from operator import attrgetter
from typing import Any

from .inputs import (
    _BY_ID,
    FrameworkData,
    MainIndexData,
    PeriodData,
    StateCounts,
    SubIndicatorData,
    SubmissionData,
    _s,
)


def _hash_default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return _s(o)
    if isinstance(o, datetime.date):
        return o.isoformat()
    if isinstance(o, Mapping):
        return dict(o)
    raise TypeError(type(o))


def _field_getter(cls: type) -> Any:
    """All the dataclass's fields, in declaration order, as one tuple: a field added to an input
    dataclass is hashed without touching :func:`input_hash`."""
    return attrgetter(*(f.name for f in fields(cls)))


_MAIN_FIELDS = _field_getter(MainIndexData)
_SUB_FIELDS = _field_getter(SubIndicatorData)
_SUBMISSION_FIELDS = _field_getter(SubmissionData)
_PERIOD_FIELDS = _field_getter(PeriodData)
#: Changes whenever the canonical form below changes (a new form never matches an old hash),
#: and whenever the engine or a rule scores the same inputs differently (a fix): a stored
#: snapshot is kept as long as its hash matches, so only a new hash makes the next recompute
#: rewrite it. /4: threshold bands compare a rate or a number with the bands as it is
#: (no 100% cap). A bump alone reaches open periods only (the nightly run); closed ones are
#: recomputed when a data migration marks every ``ScoreState`` stale, as scoring 0004 does.
_HASH_FORMAT = "dti-inputs/4"


def input_hash(
    framework: FrameworkData,
    submissions: Sequence[SubmissionData],
    period: PeriodData,
    others: StateCounts | None = None,
) -> str:
    """A SHA-256 of everything the scores depend on (same inputs → same hash → same snapshot).

    The canonical form is one JSON array of plain tuples (every field of every input dataclass,
    positionally, submissions by id; Decimals as full-precision strings, dates ISO, dict keys
    sorted; the left-out submissions' counts without zero counts), built and encoded by the C
    JSON encoder rather than ``dataclasses.asdict``.
    """
    counts = {
        code: {state: n for state, n in by_state.items() if n}
        for code, by_state in (others or {}).items()
    }
    payload = (
        _HASH_FORMAT,
        framework.total_points,
        list(map(_MAIN_FIELDS, framework.mains)),
        list(map(_SUB_FIELDS, framework.subs)),
        list(map(_SUBMISSION_FIELDS, sorted(submissions, key=_BY_ID))),
        _PERIOD_FIELDS(period),
        {code: by_state for code, by_state in counts.items() if by_state},
    )
    text = json.dumps(payload, default=_hash_default, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
