"""Fills a .po catalogue from a JSON dictionary {msgid: msgstr}.

Used to keep locale/en/LC_MESSAGES/django.po complete: the Vietnamese text is the source
language, English is the translation. Usage:
    python scripts/po_fill.py locale/en/LC_MESSAGES/django.po locale/en.json

JSON values:
- a string for an ordinary entry;
- a list of strings for a plural entry (msgid_plural), one per plural form (English: 2);
  a plain string for a plural entry is rejected (the plural form would be lost).
Keys are the msgid; an entry with a context (msgctxt) is looked up as "context\\u0004msgid"
first (the gettext convention), then as the bare msgid.

Rules:
- The JSON is authoritative: every entry found in it gets its translation, also when the
  catalogue already had a different one.
- A ``fuzzy`` entry (msgmerge's guess after a msgid changed) is only made active when the JSON
  has a translation of its current msgid: then the flag and the ``#|`` previous-msgid lines
  are removed. Otherwise it stays fuzzy (msgfmt ignores it) and is counted as untranslated,
  so a wrong guess is never published.
- The header entry (msgid "") loses its fuzzy flag; obsolete entries (``#~``) are untouched.
Exit status 1 when the JSON is malformed for an entry (e.g. a string for a plural entry).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    '"': '"',
    "\\": "\\",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
}
_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")


def _unquote(literal: str) -> str:
    body = literal.strip()[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _quote(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\r", "\\r")
    )
    parts = escaped.split("\n")
    if len(parts) == 1:
        return f'"{escaped}"'
    # Multi-line text: one quoted line per source line, like xgettext writes it.
    lines = [p + "\\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    return '""\n' + "\n".join(f'"{line}"' for line in lines)


@dataclass
class Entry:
    comments: list[str] = field(default_factory=list)  # every "#..." line, in order
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # index → text (0 for singular)
    raw_keywords: list[str] = field(default_factory=list)  # original lines after the comments
    obsolete: bool = False
    changed: bool = False

    @property
    def flags(self) -> list[str]:
        found: list[str] = []
        for line in self.comments:
            if line.startswith("#,"):
                found += [f.strip() for f in line[2:].split(",") if f.strip()]
        return found

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    def drop_fuzzy(self) -> None:
        kept: list[str] = []
        for line in self.comments:
            if line.startswith("#|"):
                continue
            if line.startswith("#,"):
                flags = [
                    f.strip() for f in line[2:].split(",") if f.strip() and f.strip() != "fuzzy"
                ]
                if not flags:
                    continue
                line = "#, " + ", ".join(flags)
            kept.append(line)
        self.comments = kept
        self.changed = True

    def render(self) -> str:
        if not self.changed:
            return "\n".join(self.comments + self.raw_keywords)
        lines = list(self.comments)
        if self.msgctxt is not None:
            lines.append(f"msgctxt {_quote(self.msgctxt)}")
        lines.append(f"msgid {_quote(self.msgid)}")
        if self.msgid_plural is not None:
            lines.append(f"msgid_plural {_quote(self.msgid_plural)}")
            for index in sorted(self.msgstr):
                lines.append(f"msgstr[{index}] {_quote(self.msgstr[index])}")
        else:
            lines.append(f"msgstr {_quote(self.msgstr.get(0, ''))}")
        return "\n".join(lines)


def parse(text: str) -> list[Entry]:
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        entry = Entry()
        current: tuple[str, int] | None = None
        for line in block.split("\n"):
            if line.startswith("#~"):
                entry.obsolete = True
            if line.startswith("#") and current is None:
                entry.comments.append(line)
                continue
            entry.raw_keywords.append(line)
            if entry.obsolete:
                continue
            m = _KEYWORD.match(line)
            if m:
                keyword, index, literal = m.group(1), m.group(2), m.group(3)
                if keyword.startswith("msgstr"):
                    current = ("msgstr", int(index) if index is not None else 0)
                    entry.msgstr[current[1]] = _unquote(literal)
                else:
                    current = (keyword, 0)
                    setattr(entry, keyword, _unquote(literal))
            elif line.startswith('"') and current is not None:
                value = _unquote(line)
                if current[0] == "msgstr":
                    entry.msgstr[current[1]] += value
                else:
                    setattr(entry, current[0], (getattr(entry, current[0]) or "") + value)
            elif line.strip():
                raise ValueError(f"Unparseable line in catalogue: {line!r}")
        entries.append(entry)
    return entries


def _lookup(entry: Entry, mapping: dict[str, object]) -> object | None:
    if entry.msgctxt is not None and f"{entry.msgctxt}\x04{entry.msgid}" in mapping:
        return mapping[f"{entry.msgctxt}\x04{entry.msgid}"]
    return mapping.get(entry.msgid)


def fill(po_path: Path, mapping: dict[str, object]) -> dict[str, int]:
    entries = parse(po_path.read_text(encoding="utf-8"))
    stats = {"total": 0, "translated": 0, "filled": 0, "updated": 0, "missing": 0, "fuzzy_kept": 0}
    errors: list[str] = []
    for entry in entries:
        if entry.obsolete or (not entry.msgid and entry.msgctxt is None and not entry.raw_keywords):
            continue
        if entry.msgid == "" and entry.msgctxt is None:  # header
            if entry.fuzzy:
                entry.drop_fuzzy()
            continue
        stats["total"] += 1
        value = _lookup(entry, mapping)
        nforms = max(len(entry.msgstr), 2) if entry.msgid_plural is not None else 1
        new: dict[int, str] | None = None
        if value:
            if entry.msgid_plural is not None:
                if (
                    not isinstance(value, list)
                    or len(value) != nforms
                    or not all(isinstance(v, str) and v for v in value)
                ):
                    errors.append(f"plural entry needs a list of {nforms} strings: {entry.msgid!r}")
                else:
                    new = dict(enumerate(value))
            elif isinstance(value, str):
                new = {0: value}
            else:
                errors.append(f"singular entry needs a string: {entry.msgid!r}")
        if new is None:
            if entry.fuzzy:
                stats["fuzzy_kept"] += 1
                stats["missing"] += 1
            elif all(entry.msgstr.get(i, "") for i in range(nforms)):
                stats["translated"] += 1
            else:
                stats["missing"] += 1
            continue
        was_empty = not any(entry.msgstr.values())
        if entry.fuzzy:
            entry.drop_fuzzy()
            stats["filled"] += 1
        elif new != entry.msgstr:
            stats["filled" if was_empty else "updated"] += 1
        if new != entry.msgstr:
            entry.msgstr = new
            entry.changed = True
        stats["translated"] += 1
    if errors:
        raise SystemExit("po_fill: " + "\n".join(errors))
    po_path.write_text("\n\n".join(e.render() for e in entries) + "\n", encoding="utf-8")
    return stats


if __name__ == "__main__":
    po, js = Path(sys.argv[1]), Path(sys.argv[2])
    result = fill(po, json.loads(js.read_text(encoding="utf-8")))
    print(
        "filled {filled}, updated {updated}, translated {translated}/{total}, "
        "still untranslated {missing} (of which fuzzy {fuzzy_kept})".format(**result)
    )
