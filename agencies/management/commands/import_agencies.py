"""``import_agencies PATH [--dry-run]``: loads the province's agency directory (agencies, aliases,
groups, and the optional ``head_email`` column: where deadline escalations go) from .csv/.xlsx,
the layout of ``agencies.directory``; run it before ``import_framework`` so the appendix's agency
column resolves. Any bad row → non-zero exit listing every bad row, and
nothing is written."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from agencies.directory import agency_directory_import, read_directory_rows

from ._table_file import import_table


class Command(BaseCommand):
    help = "Nạp danh mục cơ quan, tên gọi khác và nhóm cơ quan từ tệp .csv hoặc .xlsx."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        result = import_table(
            self,
            opts["path"],
            read_directory_rows,
            lambda rows: agency_directory_import(actor=None, rows=rows, dry_run=opts["dry_run"]),
            "dòng",
        )
        prefix = "Chạy thử: " if result.dry_run else ""
        back = f": {', '.join(result.reactivated)}" if result.reactivated else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"{prefix}{len(result.created)} mới, {len(result.updated)} cập nhật "
                f"(cơ quan và nhóm), {len(result.reactivated)} cơ quan kích hoạt lại{back}."
            )
        )
