"""``import_agencies PATH [--dry-run]``: loads the province's agency directory (agencies, aliases,
groups) from .csv/.xlsx, the layout of ``agencies.directory``; run it before ``import_framework``
so the appendix's agency column resolves. Any bad row → non-zero exit listing every bad row, and
nothing is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from agencies.directory import agency_directory_import, read_directory_rows
from agencies.spreadsheets import SpreadsheetError


class Command(BaseCommand):
    help = "Nạp danh mục cơ quan, tên gọi khác và nhóm cơ quan từ tệp .csv hoặc .xlsx."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        path = Path(opts["path"])
        if not path.is_file():
            raise CommandError(f"Không tìm thấy tệp {path}")
        try:
            rows = read_directory_rows(path.read_bytes(), path.name)
        except SpreadsheetError as exc:
            raise CommandError(str(exc)) from exc
        result = agency_directory_import(actor=None, rows=rows, dry_run=opts["dry_run"])
        if not result.ok:
            for err in result.errors:
                self.stderr.write(f"  - {err}")
            raise CommandError(f"Tệp có {len(result.errors)} lỗi; không có gì được ghi.")
        prefix = "Chạy thử: " if result.dry_run else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"{prefix}{len(result.created)} mới, {len(result.updated)} cập nhật "
                f"(cơ quan và nhóm)."
            )
        )
