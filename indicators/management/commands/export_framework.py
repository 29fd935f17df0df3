"""``export_framework CODE PATH``: writes the framework in the portal's own template (.xlsx);
``import_framework`` on that file gives the same framework."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from indicators.importer import export_framework_xlsx
from indicators.models import Framework


class Command(BaseCommand):
    help = "Xuất bộ chỉ số ra tệp .xlsx theo mẫu của cổng."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("code")
        parser.add_argument("path")

    def handle(self, *args: Any, **opts: Any) -> None:
        fw = Framework.objects.filter(code=opts["code"]).first()
        if fw is None:
            raise CommandError(f"Không có bộ chỉ số mã {opts['code']}")
        path = Path(opts["path"])
        path.write_bytes(export_framework_xlsx(fw))
        self.stdout.write(self.style.SUCCESS(f"Đã xuất {fw.code} ra {path}"))
