"""Matching agency and group names as they are written in documents ("Sở KH&CN; Văn phòng
UBND tỉnh", "Các sở, ban, ngành") against the agencies, aliases and groups in the database.

Matching ignores case, diacritics, punctuation and spacing (``agencies.text.normalize_name``).
A cell may name several bodies separated by ";" or new lines, or by commas — but commas also occur
inside names ("Sở Văn hóa, Thể thao và Du lịch", "Các sở, ban, ngành"), so comma-separated pieces
are joined greedily into the longest known name. Pieces that match nothing are reported as
unknown, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .models import Agency, AgencyAlias, AgencyGroup, AgencyGroupAlias
from .text import normalize_name

NONE_MARKERS = {"", "-", "–", "—", "x", "0", "khong", "không"}
_HARD_SEPARATORS = re.compile(r"[;\n\r]+")
# Words that start the name of a body: an unknown comma piece starting with one of them is a new
# name; otherwise it continues the previous one ("Sở Văn hóa, Thể thao và Du lịch").
_NAME_HEADS = (
    "so ",
    "van phong",
    "cong an",
    "ban ",
    "ubnd",
    "uy ban",
    "bao ",
    "dai ",
    "thong ke",
    "cuc ",
    "chi cuc",
    "trung tam",
    "kho bac",
    "bo ",
    "cac ",
    "tinh uy",
    "thanh tra",
    "vien ",
    "cong ty",
    "tong cong ty",
    "buu dien",
    "vnpt",
    "viettel",
    "mobifone",
    "ngan hang",
    "hoi ",
    "doan ",
    "mat tran",
    "toa an",
    "bo chi huy",
    "phuong ",
    "xa ",
)


@dataclass(frozen=True)
class Match:
    """A name resolved to an agency or a group."""

    kind: str  # "agency" | "group"
    id: int
    name: str


@dataclass
class CellResult:
    """The bodies named in one cell: matched ones, and the pieces that matched nothing."""

    matches: list[Match] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def agencies(self) -> list[Match]:
        return [m for m in self.matches if m.kind == "agency"]

    @property
    def groups(self) -> list[Match]:
        return [m for m in self.matches if m.kind == "group"]


def is_none_marker(text: str | None) -> bool:
    """ "-" (and empty) mean "no agency" in the appendix."""
    return (
        normalize_name(str(text or "")) in NONE_MARKERS or str(text or "").strip() in NONE_MARKERS
    )


class NameResolver:
    """An in-memory index of every agency/group name and alias (a handful of queries, once).

    ``extra`` maps normalised unknown names to matches chosen by a reviewer (the mapping step of
    the import page), so a second pass resolves them without touching the database.
    """

    def __init__(self, extra: dict[str, Match] | None = None) -> None:
        self.index: dict[str, Match] = {}
        for a in Agency.objects.filter(is_active=True).only("id", "name", "short_name"):
            m = Match("agency", a.id, a.name)
            self.index.setdefault(normalize_name(a.name), m)
            if a.short_name:
                self.index.setdefault(normalize_name(a.short_name), m)
        for al in AgencyAlias.objects.select_related("agency").filter(agency__is_active=True):
            self.index.setdefault(al.normalized, Match("agency", al.agency_id, al.agency.name))
        for g in AgencyGroup.objects.all().only("id", "name"):
            self.index.setdefault(g.normalized_name, Match("group", g.id, g.name))
        for ga in AgencyGroupAlias.objects.select_related("group"):
            self.index.setdefault(ga.normalized, Match("group", ga.group_id, ga.group.name))
        for key, m in (extra or {}).items():
            self.index[normalize_name(key)] = m

    def lookup(self, name: str) -> Match | None:
        return self.index.get(normalize_name(name))

    def resolve_cell(self, text: str | None) -> CellResult:
        """Splits a cell into bodies and resolves each one (see the module docstring)."""
        result = CellResult()
        if text is None or is_none_marker(text):
            return result
        for part in _HARD_SEPARATORS.split(str(text)):
            part = part.strip().strip(".").strip()
            if not part or is_none_marker(part):
                continue
            self._resolve_part(part, result)
        # Keep each body once, in order.
        seen: set[tuple[str, int]] = set()
        unique = []
        for m in result.matches:
            if (m.kind, m.id) not in seen:
                seen.add((m.kind, m.id))
                unique.append(m)
        result.matches = unique
        return result

    def _resolve_part(self, part: str, result: CellResult) -> None:
        whole = self.lookup(part)
        if whole is not None:
            result.matches.append(whole)
            return
        pieces = [p.strip() for p in part.split(",") if p.strip()]
        i = 0
        pending_unknown: list[str] = []
        while i < len(pieces):
            found = None
            for j in range(len(pieces), i, -1):
                m = self.lookup(", ".join(pieces[i:j]))
                if m is not None:
                    found = (m, j)
                    break
            if found is not None:
                self._flush_unknown(pending_unknown, result)
                result.matches.append(found[0])
                i = found[1]
                continue
            piece = pieces[i]
            if pending_unknown and not normalize_name(piece).startswith(_NAME_HEADS):
                pending_unknown[-1] = f"{pending_unknown[-1]}, {piece}"
            else:
                pending_unknown.append(piece)
            i += 1
        self._flush_unknown(pending_unknown, result)

    @staticmethod
    def _flush_unknown(pending: list[str], result: CellResult) -> None:
        for name in pending:
            if name not in result.unknown:
                result.unknown.append(name)
        pending.clear()
