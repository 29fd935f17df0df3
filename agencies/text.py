"""Text normalisation for matching Vietnamese names: case, diacritics, spacing and punctuation."""

from __future__ import annotations

import re
import unicodedata

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
