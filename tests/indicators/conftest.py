"""Fixtures for the framework tests: the Khánh Hòa agencies, the 2025 framework, workbooks."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "dti_2025_tinh_phu_luc_1.xlsx"


@pytest.fixture
def khanh_hoa(db):
    """The demo agencies, aliases and groups (agencies.demo)."""
    from agencies.demo import seed_agencies

    return seed_agencies()


@pytest.fixture
def file_2025() -> bytes:
    return DATA_FILE.read_bytes()


@pytest.fixture
def framework_2025(khanh_hoa, file_2025):
    """The 2025 file imported as a draft."""
    from indicators.models import Framework
    from indicators.services import framework_import

    report = framework_import(actor=None, data=file_2025, code="dti-2025", year=2025)
    return Framework.objects.get(pk=report.framework_id)


@pytest.fixture
def published_2025(framework_2025, admin_user):
    from indicators.services import framework_publish

    return framework_publish(actor=admin_user, framework=framework_2025)
