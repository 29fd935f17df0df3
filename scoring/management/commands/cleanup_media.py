"""``cleanup_media [--dry-run] [--force]``: what the nightly janitor tasks do, now.

Deletes export jobs (and files) past ``EXPORT_RETENTION_DAYS`` and removes stored files that no
evidence row points at, plus stale temporary uploads, older than ``MEDIA_ORPHAN_GRACE_HOURS``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.template.defaultfilters import filesizeformat

from evidence.services import evidence_orphans_remove
from scoring.exports.services import export_jobs_expire


class Command(BaseCommand):
    help = (
        "Dọn tệp: xóa tệp xuất đã hết hạn lưu và tệp minh chứng không còn thuộc báo cáo nào "
        "(--dry-run: chỉ liệt kê)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Chỉ liệt kê, không xóa gì.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Xóa cả khi số tệp không có bản ghi vượt ngưỡng an toàn.",
        )

    def handle(
        self, *args: Any, dry_run: bool = False, force: bool = False, **options: Any
    ) -> None:
        exports = export_jobs_expire(dry_run=dry_run)
        orphans = evidence_orphans_remove(dry_run=dry_run, force=force)
        verb = "Sẽ xóa" if dry_run else "Đã xóa"
        if orphans.refused:
            self.stderr.write(
                f"Dừng lại: {orphans.refused} trong {orphans.stored} tệp minh chứng không có bản "
                "ghi nào trỏ tới, quá nhiều để là tệp sót lại sau sự cố. Hãy kiểm tra "
                "DATABASE_URL và MEDIA_ROOT là của cùng một hệ thống; nếu đúng là cần xóa, chạy "
                "lại với --force. Không tệp minh chứng nào bị xóa."
            )
        self.stdout.write(
            f"{verb} {len(exports.jobs)} yêu cầu xuất dữ liệu hết hạn "
            f"({exports.files} tệp, {filesizeformat(exports.bytes)})."
        )
        self.stdout.write(
            f"{verb} {len(orphans.removed)} tệp không còn thuộc báo cáo nào "
            f"({filesizeformat(orphans.bytes)}); giữ lại {orphans.kept_recent} tệp mới "
            "(chưa quá thời gian chờ)."
        )
        for name in orphans.removed:
            self.stdout.write(f"  {name}")
