"""Scoring rules: pure, typed functions that turn reported values into sub-indicator points.

A rule is a JSON object stored in ``Indicator.scoring_rule``; its measure codes refer to the
sub-indicator's ``Measure.code``s. Decimals are strings in JSON. Rule types (DOMAIN.md §5)::

    {"type": "yes_no", "measure": "done"}                  # 1 → max, 0 → 0
    {"type": "levels", "measure": "level",
     "levels": [{"key": "full", "label": "...", "fraction": "1"}, ...]}   # chosen key → fraction × max
    {"type": "ratio", "numerator": "numerator", "denominator": "denominator"}
                                                           # min(a/b, 1) × max; b = 0 → 0 + warning
    {"type": "count_bands", "measure": "count",
     "bands": [{"min": "4", "points": "20"}, {"min": "1", "points": "5"}]}  # highest band reached
    {"type": "threshold_bands", "numerator": "numerator", "denominator": "denominator",
     "bands": [{"min": "80", "fraction": "1"}, {"min": "50", "fraction": "0.5"}]}
                                                           # on a percentage capped at 100%
                                                           # (or "measure": a percent measure
                                                           # instead of a/b; a rate or number
                                                           # measure meets the bands uncapped)
    {"type": "target", "measure": "value", "target": "10"}  # min(value / target, 1) × max
    {"type": "manual", "measure": "points"}                # entered/appraised points, capped
    {"type": "informational"}                              # always 0
    {"type": "external", "measure": "expected_points"}     # Ministry-measured: expected points

Several agencies' values (``combine_values``): numerators, denominators, counts and numbers are
added up (a ratio is Σ numerators / Σ denominators); a ``rate`` (a figure per 100 or 1000
inhabitants), a percentage, text and the points of a manual or external rule are never added up:
the lead enters the province's figure. A target or threshold rule may read a rate; a ratio may not.
``evaluate_rule`` takes the measures' kinds (``measure_kinds``) to tell a percentage from a rate.

Arithmetic and rounding
-----------------------
Everything is ``decimal.Decimal`` (never float). Evaluation runs in a local decimal context of
40 significant digits with ROUND_HALF_EVEN and **no intermediate rounding**; the points returned
are at full precision (e.g. 1/3 of 30 points is 9.999…9 to 40 digits, not 10.0000). Callers store
full precision (the score snapshots keep 12 decimal places) and round only for display, with
:func:`round_display` (ROUND_HALF_UP to 4 decimals, as the Ministry publishes). A ratio that reaches
or passes 1 gives exactly ``max_points``; points are always clamped to ``[0, max_points]``.

This module has no ORM access: evidence (self-assessed points, live) and scoring (snapshots) both
call it with plain data.

A package: :mod:`.base` (types, messages, results, number helpers), :mod:`.validation`,
:mod:`.evaluation` (and the combination of several agencies' values), :mod:`.defaults`.
"""

from .base import (
    COMBINABLE_SUM_KINDS,
    NUMERIC_KINDS,
    RULE_TYPES,
    Msg,
    RuleResult,
    measures_used,
    render_message,
    round_display,
    to_decimal,
)
from .defaults import default_rule_and_measures
from .evaluation import combinable_codes, combine_values, evaluate_rule
from .validation import validate_rule

__all__ = [
    "COMBINABLE_SUM_KINDS",
    "RULE_TYPES",
    "NUMERIC_KINDS",
    "Msg",
    "RuleResult",
    "combinable_codes",
    "combine_values",
    "default_rule_and_measures",
    "evaluate_rule",
    "measures_used",
    "render_message",
    "round_display",
    "to_decimal",
    "validate_rule",
]
