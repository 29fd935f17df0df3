"""Template tags of the review workflow, usable from other apps' pages."""

from __future__ import annotations

from typing import Any

import rules
from django import template

from ..models import Submission
from ..services.transitions import ReturnReason

register = template.Library()


@register.inclusion_tag("evidence/review/_return_contribution.html", takes_context=True)
def return_contribution_form(context: dict[str, Any], sub: Submission) -> dict[str, Any]:
    """The lead agency's form to return a coordinating agency's contribution (or nothing)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    can = sub.state == Submission.State.SUBMITTED_TO_LEAD and rules.has_perm(
        "evidence.return_contribution", user, sub
    )
    return {
        "sub": sub,
        "can_return": can,
        "return_reasons": ReturnReason.choices,
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def return_reason(code: str) -> str:
    """A return's reason code as its label ("thieu_minh_chung" → "Thiếu minh chứng")."""
    from ..services.transitions import reason_label

    return reason_label(code)
