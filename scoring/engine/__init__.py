"""The scoring engine: pure functions from plain data (framework tree, submissions) to scores.

No ORM here: :mod:`scoring.services` loads the data in a fixed number of queries and stores the
result. Everything is ``Decimal`` at full precision; rounding is for display only.

Per sub-indicator, for each score kind:

1. The submissions that count: ``self_assessed`` uses those that reached the Sở (submitted,
   under review, approved); ``appraised`` and ``final`` use approved ones only.
2. The values: the lead agency's consolidated submission (``is_consolidation``) when it counts;
   otherwise the counting submissions' values combined with
   :func:`indicators.scoring_rules.combine_values` (Σ numerators / Σ denominators, sums, …).
3. The points: the rule applied to those values. ``appraised``: the reviewer's
   ``appraised_points`` on the *answering* submission (the consolidation, else the lead agency's
   own submission, else the only one) replaces the rule's points when set. ``final``: the
   council's ``final_points`` when set, else the appraised points. A recorded decision equal
   to the rule's points at 4 decimals (submissions store points to 4 decimals; approving
   without a change copies the self-assessed points) confirms the rule's full-precision points
   instead of replacing them (lineage ``basis`` "values"; otherwise "appraised" or "final").

Main index: points = Σ its sub-indicators; value = points ÷ max (a 0-point index has value 0 and
does not count towards the DTI). DTI = Σ main points ÷ framework total (1000).

Points at risk: the max points of every scored sub-indicator not yet approved (risk reason
``missing`` when nothing reached the Sở, ``overdue`` when that is still so after the deadline,
``returned``, ``not_approved`` when submitted or under review). Max still reachable: the
kind's points of approved sub-indicators plus the max points of the others.

Explanations: each lineage entry has the Vietnamese sentence (``explanation``, ``warnings``:
stored, exported) and the same structured (``explanation_msg``, ``warning_msgs``:
:class:`indicators.scoring_rules.Msg` as JSON) for display in the reader's language.

Left-out submissions: of a submission that counts for no kind, is not the consolidation and is
not the lead agency's own, only the state is ever read (for the risk reason and the state
label). A province has tens of thousands of them (coordinating agencies' drafts and
contributions still with their lead), so a loader may pass them as counts per state
(``others``: sub-indicator code → state → count) instead of rows: :func:`summarise` is the rule,
and the results are the same either way.

A package: :mod:`.inputs` (data types, states, :func:`summarise`), :mod:`.compute`,
:mod:`.hashing` (:func:`input_hash`), :mod:`.ranks` (national figures).
"""

from .compute import compute_all, compute_kind, evaluate_sub
from .hashing import input_hash
from .inputs import (
    APPRAISED,
    APPROVED,
    COUNTED_STATES,
    COUNTING_STATES,
    DRAFT,
    FINAL,
    KINDS,
    RETURNED,
    SELF_ASSESSED,
    SUBMITTED,
    SUBMITTED_TO_LEAD,
    UNDER_REVIEW,
    FrameworkData,
    MainIndexData,
    PeriodData,
    ScoreResult,
    StateCounts,
    SubIndicatorData,
    SubmissionData,
    keeps,
    submissions_from_rows,
    summarise,
)
from .ranks import competition_ranks, to_decimal_or_zero, weighted_dti

__all__ = [
    "APPRAISED",
    "APPROVED",
    "COUNTED_STATES",
    "COUNTING_STATES",
    "DRAFT",
    "FINAL",
    "KINDS",
    "RETURNED",
    "SELF_ASSESSED",
    "SUBMITTED",
    "SUBMITTED_TO_LEAD",
    "UNDER_REVIEW",
    "FrameworkData",
    "MainIndexData",
    "PeriodData",
    "ScoreResult",
    "StateCounts",
    "SubIndicatorData",
    "SubmissionData",
    "competition_ranks",
    "compute_all",
    "compute_kind",
    "evaluate_sub",
    "input_hash",
    "keeps",
    "submissions_from_rows",
    "summarise",
    "to_decimal_or_zero",
    "weighted_dti",
]
