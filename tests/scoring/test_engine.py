"""The pure scoring engine: aggregation, kinds, overrides, risk, DTI (no database)."""

from __future__ import annotations

import datetime
from decimal import Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import engine
from scoring.engine import (
    APPRAISED,
    FINAL,
    SELF_ASSESSED,
    FrameworkData,
    MainIndexData,
    PeriodData,
    SubIndicatorData,
    SubmissionData,
    competition_ranks,
    compute_all,
    weighted_dti,
)

D = Decimal
RATIO = {"type": "ratio", "numerator": "numerator", "denominator": "denominator"}
YES_NO = {"type": "yes_no", "measure": "done"}
RATIO_KINDS = {"numerator": "numerator", "denominator": "denominator"}
LEAD, CO1, CO2 = 1, 2, 3
TODAY = datetime.date(2025, 12, 1)
OPEN = PeriodData(deadline=datetime.date(2025, 12, 25), today=TODAY)
PAST = PeriodData(deadline=datetime.date(2025, 11, 25), today=TODAY)


def fw():
    return FrameworkData(
        total_points=D(1000),
        mains=[
            MainIndexData("1", "Một", D(600)),
            MainIndexData("2", "Hai", D(400)),
            MainIndexData("9", "Theo dõi", D(0)),
        ],
        subs=[
            SubIndicatorData("1.1", "Tỷ lệ", "1", D(300), RATIO, RATIO_KINDS, LEAD),
            SubIndicatorData("1.2", "Ban hành", "1", D(300), YES_NO, {"done": "boolean"}, LEAD),
            SubIndicatorData("2.1", "Tỷ lệ 2", "2", D(400), RATIO, RATIO_KINDS, CO1),
            SubIndicatorData("9.1", "Theo dõi", "9", D(0), {"type": "informational"}, {}, LEAD),
        ],
    )


_ids = iter(range(1, 10**6))


def sub(code, agency, values, state="approved", consolidation=False, appraised=None, final=None):
    return SubmissionData(
        id=next(_ids),
        indicator_code=code,
        agency_id=agency,
        state=state,
        is_consolidation=consolidation,
        values=values,
        appraised_points=None if appraised is None else D(appraised),
        final_points=None if final is None else D(final),
    )


def test_contributions_combine_as_sum_over_sum():
    subs = [
        sub("1.1", CO1, {"numerator": "1", "denominator": "2"}),
        sub("1.1", CO2, {"numerator": "9", "denominator": "18"}),
        sub("1.1", LEAD, {"numerator": "40", "denominator": "80"}),
    ]
    res = compute_all(fw(), subs, OPEN)[SELF_ASSESSED]
    entry = res.lineage["1.1"]
    assert entry["values"] == {"numerator": "50", "denominator": "100"}
    assert D(entry["points"]) == D(150)
    assert entry["contributors"] == [LEAD, CO1, CO2]
    assert len(entry["submission_ids"]) == 3


def test_lead_consolidation_wins_over_contributions():
    subs = [
        sub("1.1", CO1, {"numerator": "1", "denominator": "2"}),
        sub("1.1", LEAD, {"numerator": "90", "denominator": "100"}, consolidation=True),
    ]
    entry = compute_all(fw(), subs, OPEN)[SELF_ASSESSED].lineage["1.1"]
    assert entry["values"] == {"numerator": "90", "denominator": "100"}
    assert D(entry["points"]) == D(270)
    assert entry["contributors"] == [LEAD]


def test_kinds_use_different_states_and_overrides():
    subs = [
        sub("1.1", LEAD, {"numerator": "1", "denominator": "2"}, state="approved", appraised="100"),
        sub("1.2", LEAD, {"done": "1"}, state="submitted"),
        sub(
            "2.1",
            CO1,
            {"numerator": "3", "denominator": "4"},
            state="approved",
            appraised="250",
            final="280",
        ),
    ]
    res = compute_all(fw(), subs, OPEN)
    s, a, f = res[SELF_ASSESSED], res[APPRAISED], res[FINAL]
    # self-assessed: submitted counts, rule points, no overrides
    assert [s.lineage[c]["points"] for c in ("1.1", "1.2", "2.1")] == ["150", "300", "300"]
    assert s.total_points == D(750)
    # appraised: approved only, appraised_points override
    assert [a.lineage[c]["points"] for c in ("1.1", "1.2", "2.1")] == ["100", "0", "250"]
    assert a.lineage["1.1"]["basis"] == "appraised" and a.lineage["1.1"]["rule_points"] == "150"
    assert a.total_points == D(350)
    # final: council's final points, else appraised
    assert [f.lineage[c]["points"] for c in ("1.1", "1.2", "2.1")] == ["100", "0", "280"]
    assert f.lineage["2.1"]["basis"] == "final"
    assert f.dti == D("0.38")


def test_main_values_dti_and_zero_point_index():
    subs = [
        sub("1.1", LEAD, {"numerator": "1", "denominator": "3"}),
        sub("1.2", LEAD, {"done": "1"}),
        sub("2.1", CO1, {"numerator": "1", "denominator": "1"}),
        sub("9.1", LEAD, {"done": "1"}),
    ]
    res = compute_all(fw(), subs, OPEN)[APPRAISED]
    mains = {m["code"]: m for m in res.main_indices}
    assert D(mains["1"]["points"]) == D(400)
    assert D(mains["1"]["value"]).quantize(D("1e-20")) == (D(400) / D(600)).quantize(D("1e-20"))
    assert mains["9"]["value"] == "0" and mains["9"]["points"] == "0"
    assert res.total_points == D(800)
    assert res.dti == D("0.8")
    assert res.points_at_risk == 0
    assert res.max_reachable == D(800)
    assert res.lineage["9.1"]["at_risk"] is False


def test_points_at_risk_and_reasons():
    subs = [
        sub("1.1", LEAD, {"numerator": "1", "denominator": "2"}, state="returned"),
        sub("1.2", LEAD, {"done": "1"}, state="under_review"),
    ]
    res = compute_all(fw(), subs, OPEN)[APPRAISED]
    reasons = {c: (e["at_risk"], e["risk_reason"]) for c, e in res.lineage.items()}
    assert reasons == {
        "1.1": (True, "returned"),
        "1.2": (True, "not_approved"),
        "2.1": (True, "missing"),
        "9.1": (False, ""),
    }
    assert res.points_at_risk == D(1000)
    assert res.max_reachable == D(1000)
    overdue = compute_all(fw(), subs, PAST)[APPRAISED].lineage["2.1"]
    assert overdue["risk_reason"] == "overdue"
    # an extension for the lead agency pushes the deadline back
    f = fw()
    extended = FrameworkData(
        f.total_points,
        f.mains,
        [
            *f.subs[:2],
            SubIndicatorData("2.1", "x", "2", D(400), RATIO, RATIO_KINDS, CO1, {CO1: TODAY}),
            f.subs[3],
        ],
    )
    assert compute_all(extended, subs, PAST)[APPRAISED].lineage["2.1"]["risk_reason"] == "missing"


def test_approved_low_score_reduces_max_reachable():
    subs = [sub("1.1", LEAD, {"numerator": "1", "denominator": "4"})]
    res = compute_all(fw(), subs, OPEN)[APPRAISED]
    assert res.max_reachable == D(1000) - D(225)
    assert res.points_at_risk == D(700)


def test_input_hash_is_stable_and_sensitive():
    subs = [sub("1.1", LEAD, {"numerator": "1", "denominator": "4"})]
    assert engine.input_hash(fw(), subs, OPEN) == engine.input_hash(fw(), list(subs), OPEN)
    other = [
        SubmissionData(**{**subs[0].__dict__, "values": {"numerator": "2", "denominator": "4"}})
    ]
    assert engine.input_hash(fw(), subs, OPEN) != engine.input_hash(fw(), other, OPEN)


def test_weighted_dti_reproduces_da_nang_2022():
    values = [
        D(v)
        for v in ["1.0000", "0.9000", "0.8253", "0.8487", "0.7578", "0.8575", "0.7836", "0.5197"]
    ]
    weights = [D(w) for w in (100, 100, 100, 100, 100, 200, 150, 150)]
    codes = [str(i) for i in range(1, 9)]
    dti = weighted_dti(
        dict(zip(codes, values, strict=True)), dict(zip(codes, weights, strict=True)), D(1000)
    )
    assert abs(dti - D("0.8002")) <= D("0.0001")


def test_competition_ranks_with_ties():
    assert competition_ranks([D("0.9"), D("0.8"), D("0.8"), D("0.7")]) == [1, 2, 2, 4]
    assert competition_ranks([D("0.5"), D("0.9")]) == [2, 1]


points = st.decimals(min_value=0, max_value=100, places=3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.sampled_from(["1.1", "1.2", "2.1"]),
            st.sampled_from([LEAD, CO1, CO2]),
            points,
            points,
            st.sampled_from(["draft", "submitted", "under_review", "approved", "returned"]),
            st.one_of(st.none(), points),
        ),
        max_size=12,
        unique_by=lambda t: (t[0], t[1]),
    )
)
def test_totals_equal_sum_of_parts_and_stay_in_bounds(data):
    subs = [
        sub(
            code,
            agency,
            {"numerator": str(a), "denominator": str(b), "done": "1" if a > b else "0"},
            state,
            appraised=ap,
        )
        for code, agency, a, b, state, ap in data
    ]
    eps = D("1e-30")
    for res in compute_all(fw(), subs, OPEN).values():
        with localcontext() as ctx:
            ctx.prec = 60
            by_sub = sum((D(e["points"]) for e in res.lineage.values()), D(0))
            by_main = sum((D(m["points"]) for m in res.main_indices), D(0))
            assert abs(by_sub - res.total_points) < eps
            assert abs(by_main - res.total_points) < eps
            for code, e in res.lineage.items():
                assert D(0) <= D(e["points"]) <= D(e["max_points"]), code
            assert D(0) <= res.total_points <= D(1000)
            assert res.total_points <= res.max_reachable + eps
            assert abs(res.dti - res.total_points / D(1000)) < eps


def test_an_appraisal_confirming_the_rule_keeps_full_precision():
    subs = [
        sub("1.1", LEAD, {"numerator": "1", "denominator": "3"}, appraised="100.0000"),
        sub(
            "2.1",
            CO1,
            {"numerator": "2", "denominator": "3"},
            appraised="266.6667",
            final="266.6667",
        ),
    ]
    res = compute_all(fw(), subs, OPEN)
    a, f = res[APPRAISED].lineage, res[FINAL].lineage
    assert a["1.1"]["basis"] == "values" and D(a["1.1"]["points"]) == D(100)
    assert a["2.1"]["basis"] == "values" and a["2.1"]["points"].startswith("266.666666666")
    assert f["2.1"]["basis"] == "values" and f["2.1"]["points"] == a["2.1"]["points"]
    changed = [sub("2.1", CO1, {"numerator": "2", "denominator": "3"}, appraised="266.6666")]
    entry = compute_all(fw(), changed, OPEN)[APPRAISED].lineage["2.1"]
    assert entry["basis"] == "appraised" and D(entry["points"]) == D("266.6666")


def _changed(value):
    """A different value of the same kind, for the hash sensitivity test."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, Decimal):
        return value + D("0.0001")
    if value is None:
        return D(1)
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, datetime.date):
        return value + datetime.timedelta(days=1)
    if isinstance(value, dict):
        return {**value, "extra": "1"} if value else {"extra": "1"}
    raise AssertionError(type(value))


def test_input_hash_ignores_order_and_dict_key_order():
    a = sub("1.1", LEAD, {"numerator": "1", "denominator": "4"}, appraised="10")
    b = sub("1.2", CO1, {"done": "1"}, state="submitted")
    swapped = SubmissionData(**{**a.__dict__, "values": {"denominator": "4", "numerator": "1"}})
    assert engine.input_hash(fw(), [a, b], OPEN) == engine.input_hash(fw(), [b, swapped], OPEN)


def _each_field_changed(obj):
    """(field name, a copy of the dataclass ``obj`` with that one field changed), per field."""
    import dataclasses

    for f in dataclasses.fields(obj):
        yield f.name, dataclasses.replace(obj, **{f.name: _changed(getattr(obj, f.name))})


def test_input_hash_changes_with_every_input_field():
    """Every field of every input dataclass is hashed: a field added later is covered too."""
    import dataclasses

    framework = fw()
    first_sub, first_main = framework.subs[0], framework.mains[0]
    base_sub = sub("1.1", LEAD, {"numerator": "1", "denominator": "4"}, appraised="10")
    digest = engine.input_hash(framework, [base_sub], OPEN)

    def with_sub(s):
        return dataclasses.replace(framework, subs=[s, *framework.subs[1:]])

    variants = [
        (f"submission.{name}", (framework, [changed], OPEN))
        for name, changed in _each_field_changed(base_sub)
    ]
    variants += [
        (f"period.{name}", (framework, [base_sub], changed))
        for name, changed in _each_field_changed(OPEN)
    ]
    variants += [
        (f"sub.{name}", (with_sub(changed), [base_sub], OPEN))
        for name, changed in _each_field_changed(first_sub)
    ]
    variants += [
        (
            f"main.{name}",
            (
                dataclasses.replace(framework, mains=[changed, *framework.mains[1:]]),
                [base_sub],
                OPEN,
            ),
        )
        for name, changed in _each_field_changed(first_main)
    ]
    other_values = dataclasses.replace(base_sub, values={"numerator": "2", "denominator": "4"})
    extended = dataclasses.replace(first_sub, extensions={LEAD: datetime.date(2026, 1, 5)})
    later = dataclasses.replace(first_sub, extensions={LEAD: datetime.date(2026, 1, 6)})
    rule = dataclasses.replace(first_sub, rule={**RATIO, "type": "ratio_capped"})
    variants += [
        ("submission values", (framework, [other_values], OPEN)),
        ("a submission more", (framework, [base_sub, sub("1.2", LEAD, {})], OPEN)),
        ("extension", (with_sub(extended), [base_sub], OPEN)),
        ("extension date", (with_sub(later), [base_sub], OPEN)),
        ("rule", (with_sub(rule), [base_sub], OPEN)),
        ("total", (dataclasses.replace(framework, total_points=D(999)), [base_sub], OPEN)),
    ]
    digests = {label: engine.input_hash(*inputs) for label, inputs in variants}
    assert [label for label, d in digests.items() if d == digest] == []
    assert len(set(digests.values())) == len(digests)  # no two changes collide either
    assert engine.input_hash(fw(), [base_sub], OPEN) == digest  # and it is deterministic


_STATES = [
    engine.DRAFT,
    engine.SUBMITTED_TO_LEAD,
    engine.SUBMITTED,
    engine.UNDER_REVIEW,
    engine.APPROVED,
    engine.RETURNED,
]


def _submission_rows(codes, max_size):
    """Random submissions: (code, agency, state, consolidation, numerator, denominator,
    appraised points)."""
    return st.lists(
        st.tuples(
            st.sampled_from(codes),
            st.sampled_from([LEAD, CO1, CO2]),
            st.sampled_from(_STATES),
            st.booleans(),
            st.integers(0, 60),
            st.integers(1, 60),
            st.one_of(st.none(), st.integers(0, 400)),
        ),
        max_size=max_size,
    )


@settings(max_examples=150, deadline=None)
@given(_submission_rows(["1.1", "1.2", "2.1"], 12))
def test_values_of_submissions_counting_for_no_kind_are_never_read(rows):
    """Why the loader leaves them out (scoring.services.loading._load_submissions): blanking the values
    of drafts, contributions still with the lead and returned items changes no result."""
    import dataclasses

    full, blanked = [], []
    for i, (code, agency, state, consolidation, num, den, appraised) in enumerate(rows, 1):
        values = {"numerator": str(num), "denominator": str(den), "done": str(num % 2)}
        s = SubmissionData(
            i,
            code,
            agency,
            state,
            consolidation,
            values,
            None if appraised is None else D(appraised),
        )
        full.append(s)
        counted = state in engine.COUNTED_STATES
        blanked.append(s if counted else dataclasses.replace(s, values={}))
    for period in (OPEN, PAST):
        assert compute_all(fw(), blanked, period) == compute_all(fw(), full, period)


def test_submissions_from_rows_equals_the_constructor():
    row = (7, "1.1", LEAD, "approved", True, {"numerator": "1"}, D("2.5"), None)
    (fast,) = engine.submissions_from_rows([row])
    assert fast == SubmissionData(*row) and type(fast) is SubmissionData
    assert engine.input_hash(fw(), [fast], OPEN) == engine.input_hash(
        fw(), [SubmissionData(*row)], OPEN
    )


@settings(max_examples=200, deadline=None)
@given(_submission_rows(["1.1", "1.2", "2.1", "9.1"], 14))
def test_left_out_submissions_as_counts_change_no_result(rows):
    """What the loader does for a province's tens of thousands of coordinator rows: those the
    engine reads only the state of (:func:`engine.keeps` false) passed as counts per state give
    the same scores, lineage and risk as every row."""
    full = []
    for i, (code, agency, state, consolidation, num, den, appraised) in enumerate(rows, 1):
        counted = state in engine.COUNTED_STATES
        values = {"numerator": str(num), "denominator": str(den), "done": str(num % 2)}
        full.append(
            SubmissionData(
                i,
                code,
                agency,
                state,
                consolidation,
                values if counted else {},
                None if appraised is None else D(appraised),
            )
        )
    kept, others = engine.summarise(fw(), full)
    assert sum(n for counts in others.values() for n in counts.values()) + len(kept) == len(full)
    for period in (OPEN, PAST):
        assert compute_all(fw(), kept, period, others) == compute_all(fw(), full, period)


def test_input_hash_covers_the_left_out_counts():
    kept = [sub("1.1", LEAD, {"numerator": "1", "denominator": "4"})]
    base = engine.input_hash(fw(), kept, OPEN)
    assert engine.input_hash(fw(), kept, OPEN, {}) == base
    assert engine.input_hash(fw(), kept, OPEN, {"1.1": {"draft": 0}}) == base  # zero: no row
    one = engine.input_hash(fw(), kept, OPEN, {"1.1": {"draft": 1}})
    two = engine.input_hash(fw(), kept, OPEN, {"1.1": {"draft": 2}})
    moved = engine.input_hash(fw(), kept, OPEN, {"1.1": {"submitted_to_lead": 1}})
    elsewhere = engine.input_hash(fw(), kept, OPEN, {"1.2": {"draft": 1}})
    assert len({base, one, two, moved, elsewhere}) == 5


def test_threshold_bands_on_a_rate_are_scored_on_the_rate_by_the_engine():
    """The engine tells the rule what its measure is (``measure_kinds``): a rate of 125
    subscriptions per 100 inhabitants reaches the band at 120 (1 × 200 points, by hand), where
    capping it at 100% would give the band at 100 (0.8 × 200 = 160)."""
    rule = {
        "type": "threshold_bands",
        "measure": "value",
        "bands": [{"min": "120", "fraction": "1"}, {"min": "100", "fraction": "0.8"}],
    }
    framework = FrameworkData(
        total_points=D(1000),
        mains=[MainIndexData("3", "Hạ tầng số", D(1000))],
        subs=[
            SubIndicatorData("3.3", "Thuê bao/100 dân", "3", D(200), rule, {"value": "rate"}, LEAD),
            SubIndicatorData("3.1", "Tỷ lệ", "3", D(800), RATIO, RATIO_KINDS, LEAD),
        ],
    )
    res = compute_all(framework, [sub("3.3", LEAD, {"value": "125"})], OPEN)
    for kind in (SELF_ASSESSED, APPRAISED, FINAL):
        assert D(res[kind].lineage["3.3"]["points"]) == D(200), kind
        assert res[kind].total_points == D(200)
