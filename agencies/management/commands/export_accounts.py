"""``export_accounts PATH``: who has which account (.xlsx; no passwords)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from agencies.accounts_io import export_accounts_xlsx
from agencies.services import audit


class Command(BaseCommand):
    help = "Xuất danh sách tài khoản (ai có tài khoản nào) ra .xlsx."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path")

    def handle(self, *args: Any, **opts: Any) -> None:
        path = Path(opts["path"])
        path.write_bytes(export_accounts_xlsx())
        audit(actor=None, action="accounts.export", data={"path": str(path)})
        self.stdout.write(self.style.SUCCESS(f"Đã xuất danh sách tài khoản ra {path}"))
