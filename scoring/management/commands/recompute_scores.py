"""``recompute_scores [--framework CODE] [--period ID]``: recomputes scores now, synchronously."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from indicators.models import Framework
from scoring.models import ScoreSnapshot
from scoring.services import score_recompute_all


class Command(BaseCommand):
    help = "Tính lại điểm ngay (đồng bộ) cho mọi kỳ báo cáo, hoặc một bộ chỉ số/kỳ."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--framework", default=None, help="Mã bộ chỉ số")
        parser.add_argument("--period", type=int, default=None, help="Mã (id) kỳ báo cáo")

    def handle(
        self, *args: Any, framework: str | None = None, period: int | None = None, **o: Any
    ) -> None:
        fw = None
        if framework:
            fw = Framework.objects.filter(code=framework).first()
            if fw is None:
                raise CommandError(f"Không có bộ chỉ số mã “{framework}”.")
        done = score_recompute_all(framework=fw, period_id=period)
        if period is not None and not done:
            raise CommandError(f"Không có kỳ báo cáo {period} (của bộ chỉ số đã chọn).")
        for fid, pid, _outcome in done:
            snaps = {
                s.kind: s for s in ScoreSnapshot.objects.filter(framework_id=fid, period_id=pid)
            }
            parts = [
                f"{kind}: {snaps[kind].total_points:.4f} (DTI {snaps[kind].dti:.4f})"
                for kind in ("self_assessed", "appraised", "final")
                if kind in snaps
            ]
            self.stdout.write(f"Bộ chỉ số {fid}, kỳ {pid}: " + "; ".join(parts))
        self.stdout.write(self.style.SUCCESS(f"Đã tính lại {len(done)} kỳ báo cáo."))
