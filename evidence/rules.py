"""Object permissions of the review workflow (django-rules, autodiscovered).

Visibility is the selectors' job (outside scope → 404); these predicates decide which *actions*
a user may take on a submission they can see (refused → 403). Services test them with
``rules.has_perm`` (never the superuser shortcut of ``User.has_perm``); views and templates use
``user.has_perm`` / ``{% has_perm %}``.
"""

from __future__ import annotations

from typing import Any

import rules


def _role(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ""
    return str(getattr(user, "role", ""))


@rules.predicate
def is_reviewer(user: Any) -> bool:
    """Sở KH&CN reviewers and administrators."""
    return _role(user) in ("reviewer", "admin")


@rules.predicate
def is_council(user: Any) -> bool:
    """Members of the appraisal council (*Hội đồng thẩm định*)."""
    return _role(user) == "council"


@rules.predicate
def is_admin(user: Any) -> bool:
    return _role(user) == "admin"


@rules.predicate
def is_agency_staff(user: Any) -> bool:
    return _role(user) == "agency_staff" and user.agency_id is not None


@rules.predicate
def is_submission_agency(user: Any, submission: Any) -> bool:
    """Staff of the agency that owns the submission (it writes and submits it)."""
    return submission is not None and user.agency_id == submission.agency_id


@rules.predicate
def is_lead_of_contribution(user: Any, submission: Any) -> bool:
    """Staff of the sub-indicator's lead agency, looking at another agency's contribution."""
    return (
        submission is not None
        and submission.indicator.lead_agency_id is not None
        and submission.indicator.lead_agency_id == user.agency_id
        and submission.agency_id != user.agency_id
    )


# Agency staff submit their own agency's items (to the lead, or to the Sở when they lead).
rules.add_perm("evidence.submit_submission", is_agency_staff & is_submission_agency)
# The lead agency returns a coordinating agency's contribution with a reason.
rules.add_perm("evidence.return_contribution", is_agency_staff & is_lead_of_contribution)
# Reviewers start the review, approve, return and reopen.
rules.add_perm("evidence.review_submission", is_reviewer)
rules.add_perm("evidence.view_review_queue", is_reviewer)
# The council's final points: entered by its members, or recorded from its minutes by a reviewer.
rules.add_perm("evidence.set_final", is_reviewer | is_council)
rules.add_perm("evidence.view_council", is_reviewer | is_council)
# The audit log (transitions + AuditEvent) is for administrators.
rules.add_perm("evidence.view_audit_log", is_admin)
