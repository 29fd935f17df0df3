"""Action permissions of the indicators app (``rules`` predicates, autodiscovered)."""

from __future__ import annotations

import rules


@rules.predicate
def is_reviewer(user: object) -> bool:
    """Sở KH&CN reviewers and administrators manage frameworks (import, publish, edit)."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_reviewer", False))


rules.add_perm("indicators.manage_framework", is_reviewer)
