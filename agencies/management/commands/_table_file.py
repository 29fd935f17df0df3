"""What ``import_accounts`` and ``import_agencies`` share: read a .csv/.xlsx table, run the
all-or-nothing import, list every bad row on stderr and exit non-zero."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from agencies.spreadsheets import SpreadsheetError


def import_table(
    command: BaseCommand,
    path_arg: str,
    read: Callable[[bytes, str], list[dict[str, str]]],
    run: Callable[[list[dict[str, str]]], Any],
    what: str,
) -> Any:
    """Returns the import's result (``ok``, ``errors``); raises ``CommandError`` on a bad file."""
    path = Path(path_arg)
    if not path.is_file():
        raise CommandError(f"Không tìm thấy tệp {path}")
    try:
        rows = read(path.read_bytes(), path.name)
    except SpreadsheetError as exc:
        raise CommandError(str(exc)) from exc
    result = run(rows)
    if not result.ok:
        for err in result.errors:
            command.stderr.write(f"  - {err}")
        raise CommandError(f"Tệp có {len(result.errors)} lỗi; không {what} nào được ghi.")
    return result
