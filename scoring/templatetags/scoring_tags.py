"""Template filters for score snapshots."""

from __future__ import annotations

from typing import Any

from django import template

from indicators.scoring_rules import render_message

register = template.Library()


@register.filter
def message(value: Any, fallback: str = "") -> str:
    """A sentence stored in a snapshot's lineage (``Msg.as_json``) in the reader's language;
    a plain string (snapshots written before messages were structured) as it is, else
    ``fallback``."""
    if isinstance(value, str):
        return value
    return render_message(value, fallback)


@register.filter
def explanation(entry: Any) -> str:
    """A lineage entry's explanation in the reader's language."""
    if not isinstance(entry, dict):
        return ""
    return message(entry.get("explanation_msg"), str(entry.get("explanation") or ""))


@register.filter
def warnings(entry: Any) -> list[str]:
    """A lineage entry's warnings in the reader's language."""
    if not isinstance(entry, dict):
        return []
    structured = entry.get("warning_msgs")
    if isinstance(structured, list) and structured:
        return [message(w) for w in structured]
    return [str(w) for w in entry.get("warnings") or []]
