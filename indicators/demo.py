"""Demo framework: the 2025 provincial set, imported from the project's own copy of Khánh Hòa's
appendix (``data/dti_2025_tinh_phu_luc_1.xlsx``) through the real importer, then published."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from indicators.models import Framework

DEMO_CODE = "dti-2025-tinh"
DEMO_FILE = Path(settings.BASE_DIR) / "data" / "dti_2025_tinh_phu_luc_1.xlsx"


def seed_framework() -> Framework:
    """Imports and publishes the 2025 framework once (idempotent: an existing one is kept).

    Needs the demo agencies (``agencies.demo.seed_agencies_and_accounts``) so every agency name
    in the appendix resolves.
    """
    from agencies.models import User
    from indicators.services import framework_import, framework_publish

    existing = Framework.objects.filter(code=DEMO_CODE).first()
    if existing is not None:
        return existing
    report = framework_import(
        actor=None,
        data=DEMO_FILE.read_bytes(),
        code=DEMO_CODE,
        year=2025,
        name="Bộ chỉ số DTI cấp tỉnh năm 2025 (Khánh Hòa)",
        decision="Quyết định số 405/QĐ-BKHCN; Kế hoạch số 4636/KH-UBND ngày 29/09/2025",
        file_name=DEMO_FILE.name,
    )
    assert report.framework_id is not None
    framework = Framework.objects.get(pk=report.framework_id)
    publisher = User.objects.filter(role=User.Role.ADMIN, is_active=True).first()
    if publisher is None:
        publisher = User.objects.filter(role=User.Role.REVIEWER, is_active=True).first()
    assert publisher is not None, "seed the demo accounts first"
    return framework_publish(actor=publisher, framework=framework)
