"""generate_load_data: a province of any size, every state, deterministic with --seed."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from agencies.models import Agency, User
from evidence.models import EvidenceFile, ReportingPeriod, Submission, SubmissionTransition
from indicators.models import Framework


class _Rollback(Exception):
    pass


def _fingerprint() -> list:
    return list(
        Submission.objects.order_by(
            "period__year", "period__quarter", "indicator__sort_key", "agency__code"
        ).values_list("indicator__code", "agency__code", "state", "values", "self_points")
    )


@pytest.mark.django_db(transaction=False)
def test_generates_every_state_and_is_deterministic():
    prints = []
    for _ in range(2):
        try:
            with transaction.atomic():
                call_command(
                    "generate_load_data",
                    agencies=12,
                    quarters=3,
                    seed=7,
                    stdout=io.StringIO(),
                )
                fw = Framework.objects.get(code="dti-2025-load")
                assert fw.status == Framework.Status.PUBLISHED
                assert Agency.objects.filter(code__startswith="load-").count() == 12
                kinds = set(
                    Agency.objects.filter(code__startswith="load-").values_list("kind", flat=True)
                )
                assert len(kinds) >= 2
                assert (
                    User.objects.filter(username__startswith="load_a", role="agency_staff").count()
                    == 12
                )
                assert User.objects.filter(role="reviewer", username__startswith="load_").exists()
                assert ReportingPeriod.objects.filter(framework=fw).count() == 3
                assert ReportingPeriod.objects.filter(framework=fw, status="open").count() == 1
                states = Counter(Submission.objects.values_list("state", flat=True))
                assert {"draft", "submitted", "approved", "submitted_to_lead"} <= set(states)
                # Every non-draft submission has its transitions; approvals carry a reviewer.
                assert (
                    SubmissionTransition.objects.filter(action="approve").count()
                    == states["approved"]
                )
                ev = EvidenceFile.objects.first()
                assert ev is not None and (Path(settings.MEDIA_ROOT) / ev.file.name).is_file()
                prints.append(_fingerprint())
                raise _Rollback
        except _Rollback:
            pass
    assert prints[0] == prints[1]


@pytest.mark.django_db
def test_refuses_to_run_twice():
    from django.core.management.base import CommandError

    call_command("generate_load_data", agencies=5, quarters=1, no_files=True, stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("generate_load_data", agencies=5, quarters=1, stdout=io.StringIO())
