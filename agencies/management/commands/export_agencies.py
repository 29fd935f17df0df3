"""``export_agencies PATH``: writes the agency directory as .xlsx in the layout
``import_agencies`` reads, ``head_email`` included (importing it back changes nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from agencies.directory import export_directory_xlsx


class Command(BaseCommand):
    help = "Xuất danh mục cơ quan và nhóm cơ quan ra tệp .xlsx (mẫu để nạp lại)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path")

    def handle(self, *args: Any, **opts: Any) -> None:
        Path(opts["path"]).write_bytes(export_directory_xlsx())
        self.stdout.write(self.style.SUCCESS(f"Đã ghi {opts['path']}."))
