"""Recompute bookkeeping: snapshots, query counts, coalescing, ordering, broker outages, sweeper."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Q
from kombu.exceptions import OperationalError as KombuOperationalError

from evidence.models import Submission
from evidence.signals import scores_invalidated
from scoring import engine, services, tasks
from scoring.models import ScoreSnapshot, ScoreState
from scoring.services import loading, recompute, requests
from tests.factories import AgencyFactory, IndicatorFactory, SubmissionFactory

from .helpers import make_framework, submit

D = Decimal
pytestmark = pytest.mark.django_db


def snaps(fw, period):
    return {s.kind: s for s in ScoreSnapshot.objects.filter(framework=fw, period=period)}


def test_recompute_writes_three_snapshots():
    fw, period, lead, subs = make_framework()
    submit(
        subs["1.1"], period, lead, {"numerator": "3", "denominator": "4"}, appraised_points=D("200")
    )
    submit(subs["1.2"], period, lead, {"done": "1"}, state="under_review")
    submit(subs["2.1"], period, lead, {"level": "half"})
    out = services.score_recompute(framework_id=fw.pk, period_id=period.pk)
    assert out.wrote
    s = snaps(fw, period)
    assert set(s) == {"self_assessed", "appraised", "final"}
    assert s["self_assessed"].total_points == D(225 + 200 + 250)
    assert s["appraised"].total_points == D(200 + 250)
    assert s["final"].total_points == D(450)
    assert s["appraised"].dti == D("0.45")
    assert s["appraised"].points_at_risk == D(200)
    assert s["appraised"].max_reachable == D(650)
    main = s["appraised"].main_indices[0]
    assert (main["code"], main["name"]) == ("1", "Nhận thức số")
    assert [D(main[k]) for k in ("points", "max_points", "value")] == [D(200), D(500), D("0.4")]
    state = ScoreState.objects.get(framework=fw, period=period)
    assert state.runs == 1 and not state.stale


def test_recompute_skips_when_nothing_changed_and_is_idempotent(request_recompute):
    fw, period, lead, subs = make_framework()
    submit(subs["1.2"], period, lead, {"done": "1"})
    request_recompute(fw, period)
    first = snaps(fw, period)["appraised"]
    assert services.score_recompute(framework_id=fw.pk, period_id=period.pk).reason == "up_to_date"
    # a forced run over the same inputs keeps the same snapshot (same hash, same figures)
    services.score_recompute(framework_id=fw.pk, period_id=period.pk, force=True)
    again = snaps(fw, period)["appraised"]
    assert again.input_hash == first.input_hash
    assert again.computed_at == first.computed_at
    assert again.lineage == first.lineage


def _grow(fw, period, subs, n_agencies):
    """Adds ``n_agencies`` contributing agencies with approved submissions to every sub."""
    for _ in range(n_agencies):
        agency = AgencyFactory()
        submit(subs["1.1"], period, agency, {"numerator": "1", "denominator": "2"})
        submit(subs["1.2"], period, agency, {"done": "0"}, state="submitted")
        submit(subs["2.1"], period, agency, {"level": "half"}, state="returned")


@pytest.mark.parametrize("n_agencies", [2, 40])
def test_recompute_query_count_does_not_grow(django_assert_num_queries, n_agencies):
    fw, period, lead, subs = make_framework()
    for i in range(3):  # more sub-indicators too
        IndicatorFactory(
            framework=fw, parent=subs["1.1"].parent, code=f"1.{10 + i}", max_points=D(0)
        )
    _grow(fw, period, subs, n_agencies)
    services.score_recompute(framework_id=fw.pk, period_id=period.pk)  # snapshots exist now
    ScoreState.objects.filter(framework=fw).update(requested_seq=5)
    with django_assert_num_queries(16):
        out = services.score_recompute(framework_id=fw.pk, period_id=period.pk)
    assert out.wrote
    assert Submission.objects.filter(period=period).count() == 3 * n_agencies


@pytest.mark.parametrize("n_agencies", [3, 30])
def test_load_inputs_is_five_queries(django_assert_num_queries, n_agencies):
    fw, period, lead, subs = make_framework()
    _grow(fw, period, subs, n_agencies)
    for _ in range(n_agencies):  # contributions still with the lead: counted, not loaded
        submit(subs["1.1"], period, AgencyFactory(), {}, state="submitted_to_lead")
    with django_assert_num_queries(5):
        inputs = services.load_inputs(fw, period)
    # approved and submitted rows in full; returned ones and those with the lead as counts
    assert len(inputs.submissions) == 2 * n_agencies and len(inputs.framework.subs) == 4
    assert inputs.others == {
        "1.1": {"submitted_to_lead": n_agencies},
        "2.1": {"returned": n_agencies},
    }


def _all_rows(fw, period):
    """Every submission of the period as the engine's input, values included (the reference
    the loader's left-out rows are checked against)."""
    code_of = dict(fw.indicators.filter(level="sub").values_list("id", "code"))
    return [
        engine.SubmissionData(
            s.pk,
            code_of[s.indicator_id],
            s.agency_id,
            s.state,
            s.is_consolidation,
            s.values if s.state in engine.COUNTED_STATES else {},
            s.appraised_points,
            s.final_points,
        )
        for s in Submission.objects.filter(period=period).order_by("pk")
    ]


def test_loader_leaves_out_exactly_what_the_engine_summarises():
    """The loader's SQL applies ``engine.keeps``: rows in full for counted states, the
    consolidation and the lead's own (whatever their state); the rest as counts per state. The
    scores equal those computed from every row."""
    fw, period, lead, subs = make_framework()
    other = AgencyFactory()
    no_lead = IndicatorFactory(
        framework=fw, parent=subs["1.1"].parent, code="1.9", max_points=D(10), lead_agency=None
    )
    for state in ("draft", "submitted_to_lead", "returned", "submitted", "approved"):
        submit(
            subs["1.1"],
            period,
            AgencyFactory(),
            {"numerator": "1", "denominator": "3"},
            state=state,
        )
        submit(no_lead, period, AgencyFactory(), {"done": "1"}, state=state)
    submit(subs["1.2"], period, lead, {"done": "1"}, state="draft")  # the lead's own
    submit(subs["2.1"], period, other, {"level": "half"}, state="returned", is_consolidation=True)
    submit(subs["2.1"], period, AgencyFactory(), {"level": "full"}, state="submitted_to_lead")
    submit(subs["3.1"], period, other, {}, state="draft")  # the only one: answers, as a count
    inputs = services.load_inputs(fw, period)
    kept, others = engine.summarise(inputs.framework, _all_rows(fw, period))
    assert inputs.submissions == kept and inputs.others == others
    assert others["1.1"] == {"draft": 1, "submitted_to_lead": 1, "returned": 1}
    assert {s.state for s in inputs.submissions if s.indicator_code == "1.2"} == {"draft"}
    full = engine.compute_all(inputs.framework, _all_rows(fw, period), inputs.period)
    assert engine.compute_all(*inputs) == full


def test_signal_requests_a_recompute_after_commit(django_capture_on_commit_callbacks):
    fw, period, lead, subs = make_framework()
    submit(subs["1.2"], period, lead, {"done": "1"})
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        transaction.on_commit(
            lambda: scores_invalidated.send(sender=None, framework_id=fw.pk, period_id=period.pk)
        )
    assert snaps(fw, period)["appraised"].total_points == D(200)
    assert ScoreState.objects.get(framework=fw).runs == 1


def test_burst_of_50_requests_gives_one_queued_run(request_recompute):
    fw, period, lead, subs = make_framework()
    agencies = [AgencyFactory() for _ in range(50)]
    with mock.patch.object(tasks.recompute_scores, "apply_async") as publish:
        for agency in agencies:
            submit(subs["1.1"], period, agency, {"numerator": "1", "denominator": "1"})
            request_recompute(fw, period)
    assert publish.call_count == 1
    assert publish.call_args.kwargs == {
        "args": (fw.pk, period.pk),
        "countdown": services.COALESCE_COUNTDOWN,
    }
    state = ScoreState.objects.get(framework=fw)
    assert state.requested_seq == 50 and state.stale
    # the queued run computes everything at once
    assert tasks.recompute_scores.run(fw.pk, period.pk) == "written"
    state.refresh_from_db()
    assert state.runs == 1 and not state.stale
    assert snaps(fw, period)["appraised"].total_points == D(300)
    # the run cleared the marker: the next change queues a new run
    with mock.patch.object(tasks.recompute_scores, "apply_async") as publish:
        request_recompute(fw, period)
    assert publish.call_count == 1


def test_an_older_run_never_overwrites_a_newer_one(request_recompute):
    fw, period, lead, subs = make_framework()
    s = submit(subs["1.2"], period, lead, {"done": "0"})
    request_recompute(fw, period)  # seq 1
    real_load = services.load_inputs
    calls = []

    def slow_load(framework, per, today=None):
        data = real_load(framework, per, today=today)
        if not calls:
            calls.append(1)
            # while this (older) run holds its data, the value changes and a newer run finishes
            Submission.objects.filter(pk=s.pk).update(values={"done": "1"})
            ScoreState.objects.filter(framework=fw).update(requested_seq=3)
            assert services.score_recompute(framework_id=fw.pk, period_id=period.pk).wrote
        return data

    ScoreState.objects.filter(framework=fw).update(requested_seq=2)
    with mock.patch.object(recompute, "load_inputs", side_effect=slow_load):
        older = services.score_recompute(framework_id=fw.pk, period_id=period.pk)
    assert older.sequence == 2 and not older.wrote and older.reason == "newer_exists"
    snap = snaps(fw, period)["appraised"]
    assert snap.sequence == 3 and snap.total_points == D(200)
    assert ScoreState.objects.get(framework=fw).computed_seq == 3


def test_broker_down_request_succeeds_summary_stale_and_sweeper_recovers(request_recompute):
    fw, period, lead, subs = make_framework()
    services.score_recompute(framework_id=fw.pk, period_id=period.pk)
    submit(subs["1.2"], period, lead, {"done": "1"})
    with mock.patch.object(
        tasks.recompute_scores,
        "apply_async",
        side_effect=KombuOperationalError("Connection refused"),
    ):
        request_recompute(fw, period)  # no exception
    state = ScoreState.objects.get(framework=fw)
    assert (
        state.stale
        and state.enqueue_failed_at is not None
        and "Connection refused" in state.last_error
    )
    from scoring.selectors import score_summary
    from tests.factories import UserFactory

    reviewer = UserFactory(role="reviewer")
    summary = score_summary(user=reviewer, framework=fw, period=period)
    assert summary["appraised"]["stale"] is True
    assert summary["appraised"]["total_points"] == "0.000000000000"
    # the broker is back: the periodic sweeper recomputes what is stale
    assert tasks.sweep_stale.run() == 1
    state.refresh_from_db()
    assert not state.stale and state.enqueue_failed_at is None
    summary = score_summary(user=reviewer, framework=fw, period=period)
    assert summary["appraised"]["stale"] is False
    assert D(summary["appraised"]["total_points"]) == D(200)
    assert tasks.sweep_stale.run() == 0  # nothing left


def test_cache_down_still_enqueues(request_recompute):
    fw, period, lead, subs = make_framework()
    with (
        mock.patch.object(requests.cache, "add", side_effect=ConnectionError("cache down")),
        mock.patch.object(tasks.recompute_scores, "apply_async") as publish,
    ):
        request_recompute(fw, period)
    assert publish.call_count == 1


def test_sweeper_picks_up_lost_runs_after_grace(request_recompute):
    fw, period, lead, subs = make_framework()
    with mock.patch.object(tasks.recompute_scores, "apply_async"):  # queued, then lost
        request_recompute(fw, period)
    assert services.score_sweep_stale() == []  # within the grace period: a run is on its way
    from datetime import timedelta

    assert services.score_sweep_stale(grace=timedelta(seconds=-1)) == [(fw.pk, period.pk)]
    assert not ScoreState.objects.get(framework=fw).stale


def test_task_retries_only_transient_errors():
    from django.db import OperationalError

    opts = tasks.recompute_scores
    assert opts.acks_late is True
    assert OperationalError in opts.autoretry_for
    assert opts.max_retries == 5
    assert ValueError not in opts.autoretry_for
    assert opts.retry_backoff


def test_recompute_all_open_and_command():
    fw, period, lead, subs = make_framework()
    submit(subs["2.1"], period, lead, {"level": "full"})
    assert tasks.recompute_all_open.run() == 1
    assert snaps(fw, period)["final"].total_points == D(500)
    out = StringIO()
    call_command("recompute_scores", "--framework", fw.code, "--period", str(period.pk), stdout=out)
    assert "appraised: 500.0000" in out.getvalue()
    call_command("recompute_scores", stdout=StringIO())
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("recompute_scores", "--framework", "nope", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("recompute_scores", "--period", "999999", stdout=StringIO())


def test_contributions_and_consolidation_through_the_database():
    fw, period, lead, subs = make_framework()
    a, b = AgencyFactory(), AgencyFactory()
    submit(subs["1.1"], period, a, {"numerator": "1", "denominator": "4"})
    submit(subs["1.1"], period, b, {"numerator": "2", "denominator": "4"})
    services.score_recompute(framework_id=fw.pk, period_id=period.pk)
    entry = snaps(fw, period)["appraised"].lineage["1.1"]
    assert entry["values"] == {"numerator": "3", "denominator": "8"}
    assert D(entry["points"]) == D("112.5")
    SubmissionFactory(
        indicator=subs["1.1"],
        period=period,
        agency=lead,
        values={"numerator": "7", "denominator": "8"},
        is_consolidation=True,
    )
    Submission.objects.filter(agency=lead).update(state="approved")
    services.score_recompute(framework_id=fw.pk, period_id=period.pk, force=True)
    entry = snaps(fw, period)["appraised"].lineage["1.1"]
    assert entry["values"] == {"numerator": "7", "denominator": "8"}
    assert D(entry["points"]) == D("262.5")


def test_a_rule_change_recomputes_every_period_of_the_framework(django_capture_on_commit_callbacks):
    from tests.factories import ReportingPeriodFactory

    fw, period, lead, subs = make_framework()
    other = ReportingPeriodFactory(framework=fw, quarter=3)
    submit(subs["1.2"], period, lead, {"done": "1"})
    services.score_recompute(framework_id=fw.pk, period_id=period.pk)
    assert snaps(fw, period)["appraised"].total_points == D(200)
    sub = subs["1.2"]
    sub.scoring_rule = {"type": "informational"}
    with django_capture_on_commit_callbacks(execute=True):
        sub.save()
    assert snaps(fw, period)["appraised"].total_points == D(0)
    assert snaps(fw, other)["appraised"].total_points == D(0)
    # a measure change too (here: the ratio's numerator becomes a plain number)
    measure = subs["1.1"].measures.get(code="numerator")
    measure.kind = "count"
    with django_capture_on_commit_callbacks(execute=True):
        measure.save()
    assert ScoreState.objects.get(framework=fw, period=period).requested_seq == 2


def test_creating_indicators_does_not_request_anything(django_capture_on_commit_callbacks):
    fw, period, lead, subs = make_framework()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        IndicatorFactory(framework=fw, parent=subs["1.1"].parent, code="1.9", max_points=D(0))
    assert callbacks == []


def test_an_inline_failure_does_not_break_the_request(request_recompute):
    fw, period, lead, subs = make_framework()
    with mock.patch.object(recompute, "load_inputs", side_effect=RuntimeError("bug")):
        request_recompute(fw, period)  # eager mode: the run fails inline, the request does not
    state = ScoreState.objects.get(framework=fw)
    assert state.stale and state.enqueue_failed_at is not None and "bug" in state.last_error
    assert tasks.sweep_stale.run() == 1
    assert not ScoreState.objects.get(framework=fw).stale


def test_malformed_stored_rule_and_values_do_not_crash():
    fw, period, lead, subs = make_framework()
    from indicators.models import Indicator

    Indicator.objects.filter(pk=subs["1.1"].pk).update(scoring_rule=["not", "a", "rule"])
    s = submit(subs["1.2"], period, lead, {"done": "1"})
    Submission.objects.filter(pk=s.pk).update(values=["bad"])
    assert services.score_recompute(framework_id=fw.pk, period_id=period.pk).wrote
    lineage = snaps(fw, period)["appraised"].lineage
    assert lineage["1.1"]["points"] == "0" and lineage["1.2"]["points"] == "0"
    assert lineage["1.2"]["complete"] is False


def _snapshot_rows(fw):
    return {
        (s.period_id, s.kind): (
            s.input_hash,
            s.total_points,
            s.dti,
            s.points_at_risk,
            s.max_reachable,
            s.main_indices,
            s.lineage,
            s.agencies,
        )
        for s in ScoreSnapshot.objects.filter(framework=fw)
    }


def test_recompute_all_equals_one_period_at_a_time(django_assert_max_num_queries):
    """score_recompute_all loads the framework once for all its periods: same snapshots as
    recomputing each period on its own, and a constant number of queries per period."""
    import datetime

    from evidence.models import ItemExtension
    from tests.factories import ReportingPeriodFactory, UserFactory

    fw, period, lead, subs = make_framework()
    past = ReportingPeriodFactory(
        framework=fw, year=2025, quarter=3, deadline=datetime.date.today() - datetime.timedelta(1)
    )
    ItemExtension.objects.create(
        period=past,
        indicator=subs["1.2"],
        agency=lead,
        deadline=datetime.date.today() + datetime.timedelta(days=3),
        reason="Gia hạn",
        granted_by=UserFactory(role="reviewer"),
    )
    co = AgencyFactory()
    for p, n in ((period, "3"), (past, "1")):
        submit(subs["1.1"], p, lead, {"numerator": n, "denominator": "4"}, appraised_points=D(100))
        submit(subs["1.1"], p, co, {"numerator": "2", "denominator": "4"}, state="submitted")
        submit(subs["2.1"], p, lead, {"level": "half", "ghi_chú": ["Đà Nẵng", 1.5, True, None]})
    submit(subs["1.2"], period, lead, {"done": "1"}, state="returned")

    services.score_recompute_all(framework=fw)  # creates the states and snapshots
    ScoreSnapshot.objects.filter(framework=fw, period=past).update(input_hash="old")
    with django_assert_max_num_queries(21):  # whatever the number of periods (next test)
        done = services.score_recompute_all(framework=fw)
    assert [(o.ran, o.wrote) for _f, _p, o in done] == [(True, True), (True, True)]
    together = _snapshot_rows(fw)
    assert len(together) == 6
    assert together[(past.pk, "appraised")][6]["1.2"]["risk_reason"] == "missing"  # extended

    ScoreSnapshot.objects.filter(framework=fw).delete()
    for p in (past, period):
        assert services.score_recompute(framework_id=fw.pk, period_id=p.pk, force=True).wrote
    assert _snapshot_rows(fw) == together
    states = ScoreState.objects.filter(framework=fw)
    assert all(s.computed_seq == s.requested_seq and s.runs == 3 for s in states)


@pytest.mark.parametrize("n_periods", [1, 6])
def test_recompute_all_queries_do_not_grow_with_periods(django_assert_num_queries, n_periods):
    """A whole province: framework and periods loaded together, snapshots and bookkeeping
    written in bulk. The same number of queries for 1 or 6 periods, on the path that rewrites
    every snapshot (inputs changed everywhere)."""
    from tests.factories import ReportingPeriodFactory

    fw, period, lead, subs = make_framework()
    periods = [period] + [
        ReportingPeriodFactory(framework=fw, year=2019 + i, quarter=1) for i in range(1, n_periods)
    ]
    for p in periods:
        submit(subs["1.1"], p, lead, {"numerator": "1", "denominator": "4"})
        submit(subs["1.1"], p, AgencyFactory(), {}, state="submitted_to_lead")
    services.score_recompute_all(framework=fw)
    ScoreSnapshot.objects.filter(framework=fw).update(input_hash="changed")
    ids = set(ScoreSnapshot.objects.filter(framework=fw).values_list("pk", "period", "kind"))
    with django_assert_num_queries(20):
        done = services.score_recompute_all(framework=fw)
    assert [o.wrote for _f, _p, o in done] == [True] * n_periods
    # rewritten in place: the same rows (ids), new content
    assert (
        set(ScoreSnapshot.objects.filter(framework=fw).values_list("pk", "period", "kind")) == ids
    )
    assert ScoreSnapshot.objects.filter(framework=fw).exclude(input_hash="changed").count() == (
        3 * n_periods
    )


def test_load_inputs_decodes_values_as_the_orm_does():
    """Values as the JSONField gives them, for the submissions whose state counts for a kind;
    the others' values are never read by the engine and are left out ({})."""
    fw, period, lead, subs = make_framework()
    odd = {"level": "half", "số": [1, 2.5, "Hà Nội", {"a": None}], "b": False, "e": ""}
    submit(subs["2.1"], period, lead, odd)
    submit(subs["1.1"], period, AgencyFactory(), {})
    submit(subs["1.2"], period, AgencyFactory(), {"done": "1"}, state="under_review")
    ratio = {"numerator": "1", "denominator": "2"}
    for state in ("draft", "submitted_to_lead", "returned"):
        submit(subs["1.1"], period, AgencyFactory(), ratio, state=state)
    inputs = services.load_inputs(fw, period)
    rows = Submission.objects.filter(period=period)
    expected = {s.pk: s.values if s.state in engine.COUNTED_STATES else {} for s in rows}
    kept = {s.pk for s in rows if s.state in engine.COUNTED_STATES or s.agency_id == lead.pk}
    assert {s.id: s.values for s in inputs.submissions} == {pk: expected[pk] for pk in kept}
    assert odd in expected.values() and {"done": "1"} in expected.values()
    assert {s.id: s.state for s in inputs.submissions} == {
        s.pk: s.state for s in rows if s.pk in kept
    }
    assert inputs.others == {"1.1": {"draft": 1, "submitted_to_lead": 1, "returned": 1}}


def test_gc_pause_restores_the_collector():
    import gc

    assert gc.isenabled()
    with loading._gc_paused():
        assert not gc.isenabled()
        with loading._gc_paused():  # nested (or another thread's pause): left to the outer one
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), loading._gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_the_partial_index_matches_what_the_loader_reads_in_full():
    """``submission_reached_so`` serves the loader's full-row query only if its condition is the
    engine's counted states (or the consolidation)."""
    from evidence.models import REACHED_SO_STATES

    assert set(REACHED_SO_STATES) == set(engine.COUNTED_STATES)
    index = next(i for i in Submission._meta.indexes if i.name == "submission_reached_so")
    assert index.condition == (Q(state__in=REACHED_SO_STATES) | Q(is_consolidation=True))


def test_counts_tolerate_a_state_change_between_the_two_loading_queries():
    """A row read in full as "submitted" but counted as "returned" (it changed in between):
    no error, no negative count."""
    counts = {"returned": 2, "draft": 1}
    loading._uncount(counts, "submitted")  # not counted at all in that state
    loading._uncount(counts, "draft")
    loading._uncount(counts, "returned")
    assert counts == {"returned": 1}
