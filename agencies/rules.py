"""Action permissions of the agencies app (``rules`` predicates, autodiscovered)."""

from __future__ import annotations

import rules


@rules.predicate
def is_reviewer(user: object) -> bool:
    """Reviewers and admins manage agencies and accounts (import, export, deactivate)."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_reviewer", False))


rules.add_perm("agencies.manage_accounts", is_reviewer)
