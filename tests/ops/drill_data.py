"""Data for the backup drill: ``python -m tests.ops.drill_data build|fingerprint``.

Creates approved and draft submissions with evidence files, then prints a fingerprint of the
approved data and the evidence hashes as JSON (the same function reads the restored copy).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import sys
from decimal import Decimal


def build() -> None:
    from django.core.files.base import ContentFile
    from django.db import transaction

    from agencies.models import Agency, User
    from evidence.models import EvidenceFile, ReportingPeriod, Submission
    from indicators.models import Framework, Indicator

    with transaction.atomic():
        fw = Framework.objects.create(
            code="drill", name="Bộ chỉ số diễn tập", year=2025, total_points=Decimal("100")
        )
        main = Indicator.objects.create(
            framework=fw, level="main", code="1", name="Chính", max_points=Decimal("100")
        )
        period = ReportingPeriod.objects.create(
            framework=fw, year=2025, quarter=1, deadline=datetime.date(2025, 3, 25)
        )
        reviewer = User.objects.create(username="drill_reviewer", role="reviewer")
        for i in range(5):
            agency = Agency.objects.create(code=f"drill-{i}", name=f"Sở Diễn tập {i}")
            user = User.objects.create(username=f"drill_{i}", role="agency_staff", agency=agency)
            for j in range(4):
                ind, _ = Indicator.objects.get_or_create(
                    framework=fw,
                    code=f"1.{j + 1}",
                    defaults={
                        "level": "sub",
                        "parent": main,
                        "name": f"Chỉ số {j}",
                        "max_points": Decimal("25"),
                    },
                )
                state = "approved" if (i + j) % 2 == 0 else "draft"
                sub = Submission.objects.create(
                    indicator=ind,
                    agency=agency,
                    period=period,
                    state=state,
                    values={"numerator": str(i + j), "denominator": "10"},
                    self_points=Decimal(i + j),
                    appraised_points=Decimal(i + j) if state == "approved" else None,
                    reviewed_by=reviewer if state == "approved" else None,
                    created_by=user,
                )
                payload = f"%PDF-1.4 drill {i}-{j}\n".encode() + bytes(range(256)) * (i + 1)
                ev = EvidenceFile(
                    submission=sub,
                    kind="file",
                    original_name=f"minh-chung-{i}-{j}.pdf",
                    size=len(payload),
                    sha256=hashlib.sha256(payload).hexdigest(),
                    mime_type="application/pdf",
                    uploaded_by=user,
                )
                ev.file.save("x.pdf", ContentFile(payload), save=False)
                ev.save()
        # Exports are not backed up: after a restore elsewhere these two must not look usable.
        from scoring.exports.models import ExportJob

        done = ExportJob(kind="excel", framework=fw, period=period, requested_by=reviewer)
        done.file.save("bang-diem.xlsx", ContentFile(b"PK drill export"), save=False)
        done.state = "done"
        done.save()
        ExportJob.objects.create(kind="pdf", framework=fw, period=period, requested_by=reviewer)


def fingerprint() -> dict:
    from django.conf import settings

    from evidence.models import EvidenceFile, Submission
    from scoring.exports.models import ExportJob

    approved = [
        [
            s.indicator.code,
            s.agency.code,
            s.period_id and str(s.period),
            s.values,
            str(s.appraised_points),
        ]
        for s in Submission.objects.filter(state="approved")
        .select_related("indicator", "agency", "period")
        .order_by("agency__code", "indicator__code")
    ]
    files = []
    for ev in EvidenceFile.objects.order_by("id"):
        path = f"{settings.MEDIA_ROOT}/{ev.file.name}"
        with open(path, "rb") as fh:
            files.append([ev.file.name, ev.sha256, hashlib.sha256(fh.read()).hexdigest()])
    return {
        "approved": approved,
        "approved_hash": hashlib.sha256(json.dumps(approved, sort_keys=True).encode()).hexdigest(),
        "submissions": Submission.objects.count(),
        "files": files,
        "exports": sorted(ExportJob.objects.values_list("kind", "state")),
    }


if __name__ == "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dti_portal.settings")
    import django

    django.setup()
    if sys.argv[1] == "build":
        build()
    print(json.dumps(fingerprint()))
