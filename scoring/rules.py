"""Action permissions of the scoring app (``rules`` predicates, autodiscovered)."""

from __future__ import annotations

import rules

from indicators.rules import is_reviewer

# The Sở KH&CN (reviewers, administrators) keeps the published national table; leaders read it.
rules.add_perm("scoring.import_national_results", is_reviewer)
