"""``import_national_results PATH --framework CODE --year YEAR [--json]`` (API.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dti_portal.errors import DomainError
from indicators.scoring_rules import round_display
from scoring.services import national_results_import, ranks_differing


class Command(BaseCommand):
    help = (
        "Nhập bảng kết quả DTI công bố (.csv/.xlsx: cột province, một cột cho mỗi mã chỉ số "
        "chính, tùy chọn dti, rank); tính DTI theo trọng số của bộ chỉ số và xếp hạng."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path")
        parser.add_argument("--framework", required=True, help="Mã bộ chỉ số")
        parser.add_argument("--year", required=True, type=int, help="Năm công bố")
        parser.add_argument("--json", action="store_true", help="In kết quả dạng JSON")

    def handle(self, *args: Any, **o: Any) -> None:
        path = Path(o["path"])
        if not path.is_file():
            raise CommandError(f"Không tìm thấy tệp {path}.")
        try:
            rows = national_results_import(
                data=path.read_bytes(),
                file_name=path.name,
                framework_code=o["framework"],
                year=o["year"],
            )
        except DomainError as exc:
            details = exc.errors.get("file") if exc.errors else None
            message = "\n".join(details) if details else exc.message
            raise CommandError(message) from exc
        if o["json"]:
            payload = [
                {"province": r.province, "dti": float(round_display(r.dti) or 0), "rank": r.rank}
                for r in sorted(rows, key=lambda r: (r.rank, r.province))
            ]
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
            return
        for r in sorted(rows, key=lambda r: (r.rank, r.province)):
            self.stdout.write(f"{r.rank:>3}. {r.province:<30} {round_display(r.dti)}")
        self.stdout.write(self.style.SUCCESS(f"Đã nhập {len(rows)} tỉnh, thành phố."))
        differ = ranks_differing(rows)
        if differ:
            # The pages show the published ranks; the computed ones are for checking the table.
            self.stdout.write(
                self.style.WARNING(
                    f"{len(differ)} tỉnh, thành phố có hạng tính lại khác hạng công bố (ví dụ "
                    f"{differ[0].province}: công bố {differ[0].published_rank}, tính lại "
                    f"{differ[0].rank}); các trang hiển thị hạng và DTI công bố."
                )
            )
