"""Text normalisation of Vietnamese: one Unicode form for storage (``to_nfc``), and the match key
of names (case, diacritics, spacing and punctuation ignored)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w&]+", re.UNICODE)


def strip_diacritics(text: str) -> str:
    """Removes Vietnamese diacritics ("Sở Khoa học" → "So Khoa hoc"); đ/Đ become d/D."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def normalize_name(text: str) -> str:
    """Key used to match agency names and aliases.

    Ignores case, diacritics, punctuation and spacing: "Văn phòng  UBND tỉnh." and
    "van phong ubnd tinh" give the same key. "&" is kept because "KH&CN" is meaningful.
    """
    text = strip_diacritics(unicodedata.normalize("NFC", text or "")).lower()
    text = _PUNCT.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def search_words(query: str) -> list[str]:
    """The words of a search box's ``query`` as matched against ``Agency.search_text``: an agency
    matches when its search text contains every word ("so khoa hoc" finds "Sở Khoa học và Công
    nghệ")."""
    return normalize_name(query).split()


def matches_search(search_text: str, words: list[str]) -> bool:
    """The in-memory twin of the directory's database filter (every word contained)."""
    return all(word in search_text for word in words)


def to_nfc(value: Any) -> Any:
    """``value`` with every string in Unicode NFC (lists, tuples and dicts walked, keys too).

    Vietnamese arrives in two forms: composed (NFC, what most keyboards send) and decomposed
    (NFD: files written on macOS, Unikey's "tổ hợp" mode), "ở" as one code point or as
    "o" + horn + hook. Both look the same but compare, sort, export and match unique constraints
    differently, so text is stored in NFC only. Other values are returned as they are.
    """
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {to_nfc(k): to_nfc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(to_nfc(v) for v in value)
    return value
