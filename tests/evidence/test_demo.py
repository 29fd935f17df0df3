"""The reporting demo data: periods Q1–Q4 2025 and the annual round, submissions in every
state written through the services, real PDF evidence; idempotent."""

from __future__ import annotations

import datetime

import magic
import pytest

from agencies.models import User
from evidence import demo, services
from evidence.models import EvidenceFile, ReportingPeriod, Submission
from indicators.models import Framework
from tests.evidence.reporting_factories import make_ratio_indicator, make_world
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.mark.django_db
def test_seed_submissions_every_state_and_real_pdfs(agency_a, agency_b, reviewer):
    world = make_world(agency_a, agency_b)
    world.period.delete()
    Framework.objects.filter(pk=world.framework.pk).update(
        code=demo.DEMO_FRAMEWORK, status=Framework.Status.PUBLISHED
    )
    UserFactory(username="staff_a", agency=agency_a, role=User.Role.AGENCY_STAFF)
    UserFactory(username="staff_b", agency=agency_b, role=User.Role.AGENCY_STAFF)
    for i in range(2, 30):  # enough lead items for the random plan to reach every state
        ind = make_ratio_indicator(world.framework, f"1.{i + 1}", world.lead)
        ind.coordinating_agencies.add(agency_a)
    created = demo.seed_submissions()
    assert created > 0
    periods = {p.quarter: p for p in ReportingPeriod.objects.filter(year=2025)}
    assert set(periods) == {1, 2, 3, 4, None}
    assert periods[1].deadline == datetime.date(2025, 3, 25)
    assert periods[None].deadline == datetime.date(2026, 1, 12)  # 10/01/2026 is a Saturday
    assert not services.period_is_locked(periods[4])  # the demo's open quarter
    states = set(Submission.objects.values_list("state", flat=True))
    assert states == {s.value for s in Submission.State}
    assert Submission.objects.filter(is_consolidation=True, agency=world.lead).exists()
    files = list(EvidenceFile.objects.all())
    assert files and all(f.doc_number for f in files)
    # the whole name, period included ("… Quý 4-2025.pdf", never cut at a slash to "2025.pdf")
    assert all(f.original_name.startswith("Báo cáo ") for f in files)
    assert len({f.original_name for f in files}) > 1
    for f in files[:3]:
        with f.file.open("rb") as fh:
            assert magic.from_buffer(fh.read(), mime=True) == "application/pdf"
    assert demo.seed_submissions() == 0  # idempotent
    assert Submission.objects.count() == created
