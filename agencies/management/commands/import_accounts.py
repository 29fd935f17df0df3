"""``import_accounts PATH`` (API.md): creates or updates accounts from .csv/.xlsx with columns
``username, full_name, email, agency, role, password``. ``agency`` is a code, name, short name or
alias; an empty password generates one (printed once) that must be changed at first login. Any
bad row → non-zero exit listing every bad row, and nothing is written. ``--dry-run`` checks only.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from agencies.accounts_io import read_account_rows
from agencies.services import accounts_import

from ._table_file import import_table


class Command(BaseCommand):
    help = "Tạo/cập nhật tài khoản hàng loạt từ tệp .csv hoặc .xlsx."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        result = import_table(
            self,
            opts["path"],
            read_account_rows,
            lambda rows: accounts_import(actor=None, rows=rows, dry_run=opts["dry_run"]),
            "tài khoản",
        )
        for r in result.rows:
            verb = "tạo" if r.action == "create" else "cập nhật"
            line = f"  dòng {r.row}: {verb} {r.username} ({r.role}, {r.agency})"
            if r.generated_password:
                line += f" mật khẩu tạm: {r.generated_password} (phải đổi khi đăng nhập)"
            self.stdout.write(line)
        prefix = "Chạy thử: " if result.dry_run else ""
        self.stdout.write(self.style.SUCCESS(f"{prefix}{len(result.rows)} tài khoản."))
