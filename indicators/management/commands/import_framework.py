"""``import_framework PATH --code CODE --year YEAR [--name NAME] [--decision TEXT]
[--unit-type province|department|commune] [--dry-run] [--create-unknown-agencies]`` (API.md).

Reads the appendix layouts of DOMAIN.md §3 or the portal's own template, prints a summary (main
indices, sub-indicators, total points, agencies matched / unknown). Any problem → non-zero exit
with row-numbered messages and no change to the database. Agency names that match no agency,
alias or group are listed and the import fails, unless ``--create-unknown-agencies`` is given
(then they are created, kind guessed from the name; check them afterwards in the directory).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from indicators.services import ImportFailed, ImportReport, framework_import


class Command(BaseCommand):
    help = "Nhập bộ chỉ số từ tệp .xlsx (phụ lục phân công hoặc mẫu của cổng)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path")
        parser.add_argument("--code", required=True, help="Mã bộ chỉ số, ví dụ dti-2025-tinh")
        parser.add_argument("--year", required=True, type=int)
        parser.add_argument("--name", default="")
        parser.add_argument("--decision", default="", help="Văn bản ban hành")
        parser.add_argument(
            "--unit-type", default="", choices=["", "province", "department", "commune"]
        )
        parser.add_argument("--dry-run", action="store_true", help="Chạy thử, không ghi gì")
        parser.add_argument(
            "--create-unknown-agencies",
            action="store_true",
            help="Tạo mới các cơ quan chưa có trong danh mục (mặc định: báo lỗi và liệt kê)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        path = Path(opts["path"])
        if not path.is_file():
            raise CommandError(f"Không tìm thấy tệp {path}")
        try:
            report = framework_import(
                actor=None,
                data=path.read_bytes(),
                code=opts["code"],
                year=opts["year"],
                name=opts["name"],
                decision=opts["decision"],
                unit_type=opts["unit_type"],
                file_name=path.name,
                dry_run=opts["dry_run"],
                create_unknown_agencies=opts["create_unknown_agencies"],
            )
        except ImportFailed as exc:
            self._summary(exc.report)
            for err in exc.report.errors:
                self.stderr.write(f"  - {err}")
            raise CommandError(
                f"Không nhập được {path.name}: {len(exc.report.errors)} lỗi; cơ sở dữ liệu không thay đổi."
            ) from exc
        self._summary(report)
        verb = "Chạy thử thành công (không ghi gì)" if report.dry_run else "Đã nhập"
        self.stdout.write(self.style.SUCCESS(f"{verb}: {report.code} (bản nháp)."))

    def _summary(self, r: ImportReport) -> None:
        if not r.main_indices:
            return
        scored = [m for m in r.main_indices if float(m["max_points"]) > 0]
        self.stdout.write(
            f"Chỉ số chính: {len(r.main_indices)} ({len(scored)} có điểm); "
            f"chỉ số thành phần: {r.sub_count} ({r.scored_sub_count} có điểm); "
            f"tổng điểm: {r.total_points.normalize():f}"
        )
        if r.unit_type:
            self.stdout.write(f"Đối tượng đánh giá: {r.unit_type_label}")
        for m in r.main_indices:
            self.stdout.write(
                f"  {m['code']:>4}  {m['max_points']:>8}  {m['sub_count']:>3}  {m['name']}"
            )
        self.stdout.write(f"Cơ quan khớp danh mục: {len(r.agencies_matched)}")
        if r.unknown_agencies:
            self.stdout.write(f"Cơ quan chưa có trong danh mục: {len(r.unknown_agencies)}")
            for u in r.unknown_agencies:
                self.stdout.write(f"  - {u.name} (dòng {', '.join(map(str, u.rows))})")
        if r.created_agencies:
            self.stdout.write(f"Đã tạo cơ quan mới: {'; '.join(r.created_agencies)}")
