"""Loads the demo data: agencies, the 2025 framework, demo accounts, a few quarters of submissions.

Each app owns its part (``<app>/demo.py``); this command, at the top of the dependency graph,
calls them in order and prints the demo accounts. It is idempotent.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return None


class Command(BaseCommand):
    help = "Nạp dữ liệu mẫu: cơ quan, bộ chỉ số 2025, tài khoản mẫu, số liệu một số quý."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--password", default=None, help="Mật khẩu cho mọi tài khoản mẫu")

    def handle(self, *args: Any, password: str | None = None, **options: Any) -> None:
        from agencies import demo as agencies_demo

        with transaction.atomic():
            accounts = agencies_demo.seed_agencies_and_accounts(password=password)
            if (indicators_demo := _optional("indicators.demo")) is not None:
                indicators_demo.seed_framework()
            if (evidence_demo := _optional("evidence.demo")) is not None:
                evidence_demo.seed_submissions()
        if (scoring_demo := _optional("scoring.demo")) is not None:
            scoring_demo.seed_scores()

        self.stdout.write(self.style.SUCCESS("Đã nạp dữ liệu mẫu. Tài khoản mẫu:"))
        for username, role, agency, pw in accounts:
            self.stdout.write(f"  {username:<16} {role:<13} {agency:<40} {pw}")
