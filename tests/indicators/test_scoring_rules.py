"""Unit and property tests of the pure scoring rules (indicators/scoring_rules.py)."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicators.scoring_rules import (
    RULE_TYPES,
    RuleResult,
    combine_values,
    default_rule_and_measures,
    evaluate_rule,
    measures_used,
    round_display,
    to_decimal,
    validate_rule,
)

D = Decimal
DATA = Path(__file__).resolve().parents[2] / "data" / "dti_2025_tinh_phu_luc_1.xlsx"

YES_NO = {"type": "yes_no", "measure": "done"}
LEVELS = {
    "type": "levels",
    "measure": "level",
    "levels": [
        {"key": "full", "label": "Chủ tịch", "fraction": "1"},
        {"key": "half", "label": "Phó Chủ tịch", "fraction": "0.5"},
        {"key": "none", "label": "Không", "fraction": "0"},
    ],
}
RATIO = {"type": "ratio", "numerator": "numerator", "denominator": "denominator"}
COUNT_BANDS = {
    "type": "count_bands",
    "measure": "count",
    "bands": [
        {"min": "4", "points": "20"},
        {"min": "3", "points": "15"},
        {"min": "2", "points": "10"},
        {"min": "1", "points": "5"},
    ],
}
THRESHOLD = {
    "type": "threshold_bands",
    "numerator": "numerator",
    "denominator": "denominator",
    "bands": [{"min": "80", "fraction": "1"}, {"min": "50", "fraction": "0.5"}],
}
THRESHOLD_PCT = {
    "type": "threshold_bands",
    "measure": "pct",
    "bands": [{"min": "50", "fraction": "0.5"}, {"min": "80", "fraction": "1"}],
}
TARGET = {"type": "target", "measure": "value", "target": "10"}
MANUAL = {"type": "manual", "measure": "points"}
EXTERNAL = {"type": "external", "measure": "expected_points"}
INFO = {"type": "informational"}

KINDS = {
    "done": "boolean",
    "level": "level",
    "numerator": "numerator",
    "denominator": "denominator",
    "count": "count",
    "pct": "percent",
    "value": "number",
    "points": "number",
    "expected_points": "number",
    "note": "text",
}
ALL_RULES = [
    YES_NO,
    LEVELS,
    RATIO,
    COUNT_BANDS,
    THRESHOLD,
    THRESHOLD_PCT,
    TARGET,
    MANUAL,
    EXTERNAL,
    INFO,
]


def ev(rule, max_points="10", **values):
    return evaluate_rule(rule, values, D(max_points))


# --- validate_rule --------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r["type"])
def test_every_example_rule_is_valid(rule):
    max_points = D("20")
    assert validate_rule(rule, KINDS, max_points) == []


def test_validate_unknown_type_and_missing_measure():
    assert validate_rule({"type": "magic"}, KINDS, D(10))
    errs = validate_rule(
        {"type": "ratio", "numerator": "x", "denominator": "denominator"}, KINDS, D(10)
    )
    assert any("“x”" in e for e in errs)
    assert validate_rule({"type": "yes_no"}, KINDS, D(10))
    assert validate_rule("not a dict", KINDS, D(10))  # type: ignore[arg-type]


def test_validate_kind_mismatch():
    errs = validate_rule({"type": "yes_no", "measure": "count"}, KINDS, D(10))
    assert errs and "kiểu" in errs[0]


def test_rules_that_take_a_rate():
    """A figure per inhabitants can be scored against a target or by bands (never summed)."""
    kinds = {"value": "rate"}
    target = {"type": "target", "measure": "value", "target": "1.5"}
    bands = {
        "type": "threshold_bands",
        "measure": "value",
        "bands": [{"min": "1", "fraction": "1"}],
    }
    assert validate_rule(target, kinds, D(10)) == []
    assert validate_rule(bands, kinds, D(10)) == []
    assert validate_rule(
        {"type": "ratio", "numerator": "value", "denominator": "value"}, kinds, D(10)
    )


def test_validate_levels_and_bands():
    bad_levels = {
        "type": "levels",
        "measure": "level",
        "levels": [
            {"key": "a", "fraction": "1.5"},
            {"key": "a", "fraction": "0"},
            {"fraction": "0"},
        ],
    }
    errs = validate_rule(bad_levels, KINDS, D(10))
    assert len(errs) == 3
    assert validate_rule({"type": "levels", "measure": "level", "levels": []}, KINDS, D(10))
    bad_bands = {
        "type": "count_bands",
        "measure": "count",
        "bands": [
            {"min": "1", "points": "50"},
            {"min": "1", "points": "5"},
            {"min": "-1", "points": "x"},
        ],
    }
    assert len(validate_rule(bad_bands, KINDS, D(20))) == 4
    assert validate_rule({**THRESHOLD, "bands": [{"min": "10", "fraction": "2"}]}, KINDS, D(10))
    assert validate_rule({**COUNT_BANDS, "bands": []}, KINDS, D(20))


def test_validate_target_must_be_positive():
    assert validate_rule({**TARGET, "target": "0"}, KINDS, D(10))
    assert validate_rule({**TARGET, "target": "abc"}, KINDS, D(10))
    assert validate_rule({**TARGET, "target": "-5"}, KINDS, D(10))
    assert validate_rule(TARGET, KINDS, D("-1"))


# --- evaluate_rule per type -----------------------------------------------------------------------


def test_yes_no():
    assert ev(YES_NO, done="1") == RuleResult(D(10), (), "Có → 10 điểm.", True)
    assert ev(YES_NO, done="0").points == 0
    assert ev(YES_NO, done=D(1)).points == 10
    assert ev(YES_NO, done="có").points == 10
    missing = ev(YES_NO)
    assert missing.points == 0 and missing.complete is False
    assert ev(YES_NO, done="").complete is False
    odd = ev(YES_NO, done="maybe")
    assert odd.complete is False and odd.warnings


def test_levels():
    assert ev(LEVELS, level="full").points == 10
    assert ev(LEVELS, level="half").points == 5
    assert ev(LEVELS, "7.5", level="half").points == D("3.75")
    assert ev(LEVELS, level="none").points == 0
    assert ev(LEVELS, level="none").complete is True
    unknown = ev(LEVELS, level="other")
    assert unknown.points == 0 and not unknown.complete and unknown.warnings
    assert ev(LEVELS).complete is False


def test_ratio_basic_decimal_and_full_precision():
    r = ev(RATIO, "30", numerator="45", denominator="50")
    assert r.points == D(27) and r.complete and "90" in r.explanation
    assert ev(RATIO, "30", numerator="1", denominator="3").points == D(10)
    third = ev(RATIO, "10", numerator="1", denominator="3").points
    assert third == D("3.333333333333333333333333333333333333333")  # full precision (40 digits)
    assert round_display(third) == D("3.3333")
    two_thirds = ev(RATIO, "10", numerator="2", denominator="3").points
    assert round_display(two_thirds) == D("6.6667")
    assert ev(RATIO, "20", numerator="12.5", denominator="50").points == D(5)


def test_ratio_zero_denominator_gives_zero_and_warning():
    r = ev(RATIO, "30", numerator="5", denominator="0")
    assert r.points == 0 and r.complete and any("Mẫu số bằng 0" in w for w in r.warnings)
    assert ev(RATIO, "30", numerator="0", denominator="0").points == 0


def test_ratio_capped_at_max():
    r = ev(RATIO, "30", numerator="60", denominator="50")
    assert r.points == D(30) and r.warnings
    assert ev(RATIO, "30", numerator="50", denominator="50").points == D(30)


def test_ratio_missing_and_bad_values():
    assert ev(RATIO, numerator="5").complete is False
    bad = ev(RATIO, numerator="abc", denominator="5")
    assert not bad.complete and bad.warnings
    neg = ev(RATIO, numerator="-5", denominator="10")
    assert neg.points == 0 and not neg.complete and neg.warnings
    nan = ev(RATIO, numerator="NaN", denominator="10")
    assert not nan.complete


def test_count_bands_including_past_top_band():
    rule = COUNT_BANDS
    assert ev(rule, "20", count="4").points == 20
    assert ev(rule, "20", count="40").points == 20  # far past the top band
    assert ev(rule, "20", count="3").points == 15
    assert ev(rule, "20", count="2.5").points == 10
    assert ev(rule, "20", count="1").points == 5
    none = ev(rule, "20", count="0")
    assert none.points == 0 and none.complete
    assert ev(rule, "20").complete is False
    # a band worth more than max is capped (and warned about)
    over = ev({**rule, "bands": [{"min": "1", "points": "50"}]}, "20", count="1")
    assert over.points == 20 and over.warnings


def test_threshold_bands_on_ratio_and_percent():
    assert ev(THRESHOLD, "20", numerator="85", denominator="100").points == 20
    assert ev(THRESHOLD, "20", numerator="80", denominator="100").points == 20  # boundary
    assert ev(THRESHOLD, "20", numerator="79.99", denominator="100").points == 10
    assert ev(THRESHOLD, "20", numerator="10", denominator="100").points == 0
    zero = ev(THRESHOLD, "20", numerator="1", denominator="0")
    assert zero.points == 0 and zero.warnings
    assert ev(THRESHOLD_PCT, "20", pct="55.5").points == 10
    past = ev(THRESHOLD_PCT, "20", pct="150")
    assert past.points == 20 and past.warnings
    assert ev(THRESHOLD_PCT, "20").complete is False
    assert ev(THRESHOLD, "20", numerator="1").complete is False


def test_threshold_bands_on_a_rate_compare_the_value_as_it_is():
    """A threshold rule may read a rate (a figure per 100 or 1000 inhabitants) or a number
    (``validate_rule`` accepts both). Such a figure is not a percentage: 2025 sub-indicator 3.3
    "Tỷ lệ thuê bao băng rộng di động/100 dân" (30 points, Phụ lục I of Plan 4636) is
    commonly above 100 subscriptions per 100 inhabitants. Only a percentage is capped at 100%.

    By hand, bands ≥ 120 → 1, ≥ 100 → 0.8, ≥ 80 → 0.5 of 30 points:
    125 → band 120 → 1 × 30 = 30 (capping 125 at 100 would give band 100 → 24);
    105 → band 100 → 0.8 × 30 = 24; 90 → band 80 → 0.5 × 30 = 15; 50 → no band → 0.
    """
    rule = {
        "type": "threshold_bands",
        "measure": "value",
        "bands": [
            {"min": "120", "fraction": "1"},
            {"min": "100", "fraction": "0.8"},
            {"min": "80", "fraction": "0.5"},
        ],
    }
    from django.utils import translation

    for kind in ("rate", "number"):
        kinds = {"value": kind}
        assert validate_rule(rule, kinds, D(30)) == []

        def pts(value, kinds=kinds):
            return evaluate_rule(rule, {"value": value}, D(30), kinds)

        top = pts("125")
        assert top.points == 30, kind
        assert top.warnings == ()  # nothing "above 100%" about a rate
        assert "125" in top.explanation and "%" not in top.explanation
        assert pts("105").points == 24
        assert pts("90").points == 15
        none = pts("50")
        assert none.points == 0 and none.complete and "%" not in none.explanation
        assert pts(None).complete is False
        with translation.override("en"):
            assert top.explanation_text() == "Value 125 ≥ 120 → 1 × 30 = 30 points."
            assert none.explanation_text() == "Value 50 reaches no threshold → 0 points."
            assert (
                pts(None).explanation_text() == evaluate_rule(TARGET, {}, D(30)).explanation_text()
            )
    # A percentage is still capped at 100% (with a warning), whether its kind is given or not.
    pct = {**THRESHOLD_PCT}
    assert evaluate_rule(pct, {"pct": "150"}, D(20), {"pct": "percent"}).warnings
    assert evaluate_rule(pct, {"pct": "150"}, D(20), {"pct": "percent"}).points == 20


def test_target_capped():
    assert ev(TARGET, "30", value="5").points == 15
    assert ev(TARGET, "30", value="10").points == 30
    assert ev(TARGET, "30", value="1000").points == 30
    assert ev(TARGET, "30", value="0").points == 0
    assert ev(TARGET, "30", value="2.5").points == D("7.5")
    assert ev(TARGET, "30").complete is False
    bad = ev({**TARGET, "target": "0"}, "30", value="5")
    assert bad.points == 0 and not bad.complete


def test_manual_and_external_capped():
    assert ev(MANUAL, "10", points="7.25").points == D("7.25")
    capped = ev(MANUAL, "10", points="12")
    assert capped.points == 10 and capped.warnings
    assert ev(MANUAL, "10").complete is False
    assert ev(EXTERNAL, "10", expected_points="8").points == 8
    assert ev(EXTERNAL, "10", expected_points="80").points == 10


def test_informational_always_zero():
    r = ev(INFO, "0", done="1")
    assert r.points == 0 and r.complete
    assert ev(INFO, "10").points == 0


def test_invalid_rule_never_raises():
    r = evaluate_rule({}, {}, D(10))
    assert r.points == 0 and not r.complete
    assert evaluate_rule({"type": "ratio"}, {}, D(10)).complete is False


def test_to_decimal_and_round_display():
    assert to_decimal("  12.5 ") == D("12.5")
    assert to_decimal(0.1) == D("0.1")
    assert to_decimal(True) == 1
    assert to_decimal("Infinity") is None
    assert to_decimal([]) is None
    assert round_display("0.80015") == D("0.8002")  # half up
    assert round_display(None) is None


def test_measures_used():
    assert measures_used(RATIO) == ["numerator", "denominator"]
    assert measures_used(THRESHOLD_PCT) == ["pct"]
    assert measures_used(INFO) == []
    assert measures_used(YES_NO) == ["done"]


# --- combine_values -------------------------------------------------------------------------------


def test_rates_per_inhabitants_and_entered_points_are_never_added_up():
    """Two communes below a per-100-inhabitants target do not make one above it; points that
    several agencies expect for a Ministry-measured item are not added up either: the lead
    enters the province's figure."""
    rule, measures = default_rule_and_measures(
        "4.5", "Số thành viên Tổ công nghệ số cộng đồng/100 dân", "10"
    )
    kinds = {m["code"]: m["kind"] for m in measures}
    assert rule["type"] == "target" and set(kinds.values()) == {"rate"}
    assert combine_values(rule, kinds, [{"value": "0.6"}, {"value": "0.7"}]) == {"value": None}
    rule, measures = default_rule_and_measures(
        "7.2", "Số doanh nghiệp công nghệ số trên 1000 dân", "30"
    )
    assert {m["kind"] for m in measures} == {"rate"}
    external = {"type": "external", "measure": "expected_points"}
    combined = combine_values(
        external,
        {"expected_points": "number", "note": "text"},
        [{"expected_points": "8"}, {"expected_points": "9"}],
    )
    assert combined["expected_points"] is None
    # Other numbers are still added up (counts, a ratio's parts).
    assert combine_values(
        {"type": "target", "measure": "value", "target": "10"},
        {"value": "count"},
        [{"value": "3"}, {"value": "4"}],
    ) == {"value": D(7)}


def test_combine_sums_numerators_and_denominators_not_mean_of_ratios():
    contributions = [
        {"numerator": "1", "denominator": "2"},  # 50 %
        {"numerator": "90", "denominator": "100"},  # 90 %
    ]
    combined = combine_values(RATIO, KINDS, contributions)
    assert combined["numerator"] == D(91) and combined["denominator"] == D(102)
    pts = evaluate_rule(RATIO, combined, D(30)).points
    assert round_display(pts, 12) == round_display(D(91) * 30 / D(102), 12)
    assert round_display(pts) == D("26.7647")  # not (0.5 + 0.9) / 2 × 30 = 21


def test_combine_booleans_levels_percent_text_and_missing():
    kinds = {
        "done": "boolean",
        "level": "level",
        "pct": "percent",
        "note": "text",
        "count": "count",
    }
    combined = combine_values(
        LEVELS,
        kinds,
        [
            {"done": "0", "level": "half", "pct": "50", "note": "a", "count": "2"},
            {"done": "1", "level": "full", "pct": "70", "note": "b"},
            {"done": None, "level": "none"},
        ],
    )
    assert combined == {"done": D(1), "level": "full", "pct": None, "note": None, "count": D(2)}
    assert combine_values(LEVELS, kinds, [{"done": "0"}, {"done": "0"}])["done"] == D(0)
    assert combine_values(LEVELS, kinds, []) == dict.fromkeys(kinds)


# --- property tests -------------------------------------------------------------------------------

decimals = st.decimals(
    min_value=-1000, max_value=10**9, allow_nan=False, allow_infinity=False, places=4
)
maxes = st.decimals(min_value=0, max_value=1000, allow_nan=False, allow_infinity=False, places=2)
value_st = st.one_of(
    st.none(),
    decimals,
    decimals.map(str),
    st.sampled_from(["full", "half", "none", "x", "", "1", "0", "abc", "NaN", "-0"]),
)
values_st = st.fixed_dictionaries(dict.fromkeys(KINDS, value_st))


@settings(max_examples=300, deadline=None)
@given(rule=st.sampled_from(ALL_RULES), values=values_st, max_points=maxes)
def test_points_always_within_zero_and_max(rule, values, max_points):
    r = evaluate_rule(rule, values, max_points)
    assert D(0) <= r.points <= max_points
    if not r.complete:
        assert r.points == 0
    assert isinstance(r.explanation, str) and r.explanation


contribution_st = st.fixed_dictionaries(
    {
        "numerator": st.one_of(st.none(), decimals.map(abs).map(str)),
        "denominator": st.one_of(st.none(), decimals.map(abs).map(str)),
        "count": st.one_of(st.none(), decimals.map(abs)),
        "done": st.sampled_from([None, "0", "1"]),
        "level": st.sampled_from([None, "full", "half", "none", "zzz"]),
        "pct": st.one_of(st.none(), decimals.map(str)),
    }
)


@settings(max_examples=200, deadline=None)
@given(contributions=st.lists(contribution_st, max_size=8), seed=st.integers(0, 2**32))
def test_combine_is_order_independent(contributions, seed):
    shuffled = list(contributions)
    random.Random(seed).shuffle(shuffled)
    for rule in (RATIO, LEVELS, COUNT_BANDS):
        assert combine_values(rule, KINDS, contributions) == combine_values(rule, KINDS, shuffled)


@settings(max_examples=100, deadline=None)
@given(
    parts=st.lists(
        st.tuples(decimals.map(abs), decimals.map(abs)).filter(lambda p: p[1] > 0),
        min_size=1,
        max_size=6,
    )
)
def test_combined_ratio_is_sum_over_sum(parts):
    contributions = [{"numerator": str(a), "denominator": str(b)} for a, b in parts]
    combined = combine_values(RATIO, KINDS, contributions)
    assert combined["numerator"] == sum((a for a, _ in parts), D(0))
    assert combined["denominator"] == sum((b for _, b in parts), D(0))


# --- defaults on the real 2025 file ---------------------------------------------------------------


def _rows_2025():
    wb = openpyxl.load_workbook(DATA, read_only=True)
    ws = wb.worksheets[0]
    rows = []
    for code, name, points, *_ in ws.iter_rows(min_row=6, values_only=True):
        if code and name and points is not None:
            rows.append((str(code).strip(), str(name).strip(), D(str(points))))
    return rows


def test_defaults_for_every_row_of_the_2025_file():
    rows = _rows_2025()
    assert len(rows) == 59  # 9 main indices + 50 sub-indicators
    subs = [r for r in rows if "." in r[0]]
    assert len(subs) == 50
    scored = [r for r in subs if r[2] > 0]
    assert len(scored) == 47
    by_code = {}
    for code, name, points in subs:
        rule, measures = default_rule_and_measures(code, name, points)
        kinds = {m["code"]: m["kind"] for m in measures}
        assert validate_rule(rule, kinds, points) == [], (code, rule)
        assert rule["type"] in RULE_TYPES
        for m in measures:
            assert set(m) == {"code", "label", "kind", "unit", "required", "choices"}
            assert m["label"].strip()
        for used in measures_used(rule):
            assert used in kinds
        by_code[code] = (rule, measures)
        # the default must score: a full answer gives max points, an empty one gives 0
        assert evaluate_rule(rule, {}, points).points == 0
    types = {code: r["type"] for code, (r, _) in by_code.items()}
    assert types["1.1"] == "levels"
    assert [lv["key"] for lv in by_code["1.1"][0]["levels"]] == ["full", "half", "none"]
    assert [lv["fraction"] for lv in by_code["1.1"][0]["levels"]] == ["1", "0.5", "0"]
    for code in ("1.2", "2.2", "2.3", "2.4"):  # "Ban hành ..."
        assert types[code] == "yes_no"
    for code in ("3.6", "3.7", "6.8"):  # "Mức độ ..."
        assert types[code] == "levels"
    for code in ("3.3", "4.5", "7.2", "4.6", "7.5", "6.9"):  # per 100/1000 people, counts, budget
        assert types[code] == "target"
        assert D(by_code[code][0]["target"]) > 0
    for code in ("3.1", "3.2", "3.4", "4.2", "5.1", "6.4", "6.5", "8.1"):
        assert types[code] == "ratio"
    assert {code for code, t in types.items() if t == "informational"} == {"9.1", "9.2", "9.3"}
    labels = {m["code"]: m["label"] for m in by_code["3.1"][1]}
    assert labels == {
        "numerator": "Số thôn, bản được phủ sóng di động băng rộng",
        "denominator": "Tổng số thôn, bản",
    }
    assert by_code["4.2"][1][1]["label"] == "Tổng số công chức, viên chức"


def test_default_rules_give_max_for_a_perfect_answer():
    for code, name, points in _rows_2025():
        if "." not in code or points == 0:
            continue
        rule, measures = default_rule_and_measures(code, name, points)
        perfect = {}
        for m in measures:
            if m["kind"] == "boolean":
                perfect[m["code"]] = "1"
            elif m["kind"] == "level":
                perfect[m["code"]] = m["choices"][0]["key"]
            else:
                perfect[m["code"]] = "1000000"
        assert evaluate_rule(rule, perfect, points).points == points, code


def test_ministry_measured_defaults_to_expected_points():
    """DOMAIN.md §3: the Ministry measures it; the province can only enter the points it
    expects: an external rule with one number, whatever the wording of the name."""
    rule, measures = default_rule_and_measures(
        "3.3",
        "Tỷ lệ dân số trưởng thành có tài khoản định danh điện tử",
        Decimal("20"),
        ministry_measured=True,
    )
    assert rule == {"type": "external", "measure": "expected_points"}
    assert [m["code"] for m in measures] == ["expected_points", "note"]
    assert validate_rule(rule, {m["code"]: m["kind"] for m in measures}, Decimal("20")) == []
    r = evaluate_rule(rule, {"expected_points": Decimal("15")}, Decimal("20"))
    assert r.points == Decimal("15") and r.complete
    # the same name, not Ministry-measured: the wording decides (a ratio)
    assert default_rule_and_measures("3.3", "Tỷ lệ dân số …", Decimal("20"))[0]["type"] == "ratio"


# --- messages ------------------------------------------------------------------------------------


def test_messages_are_vietnamese_text_and_render_in_the_reader_language():
    from django.utils import translation

    from indicators.scoring_rules import render_message

    r = ev(RATIO, max_points="1000", numerator="1", denominator="8")
    assert r.explanation == "Tỷ lệ 1/8 = 12.5% × 1000 = 125 điểm."  # stored, as before
    stored = r.explanation_msg.as_json()
    with translation.override("vi"):
        assert render_message(stored) == "Tỷ lệ 1/8 = 12,5% × 1.000 = 125 điểm."
    with translation.override("en"):
        assert render_message(stored) == "Ratio 1/8 = 12.5% × 1,000 = 125 points."
        assert r.explanation_text() == "Ratio 1/8 = 12.5% × 1,000 = 125 points."
        bad = ev(RATIO, numerator="x", denominator="4")
        assert bad.warnings == ("Giá trị “x” của tử số không phải là số.",)
        assert bad.warning_texts() == ["The value “x” of the numerator is not a number."]
    # not a structured message (a snapshot written before): the stored text
    assert render_message(None, "Tỷ lệ 1/8") == "Tỷ lệ 1/8"
    assert render_message(["%(x)s"], "cũ") == "cũ"
    # hand-edited or damaged stored data never raises
    assert render_message(["Tỷ lệ %(x)s", {}], "cũ") == "cũ"
    assert render_message(["%(x)s", {"x": {"n": "abc"}}]) == "abc"
    assert render_message(["%(x)s", {"x": {"m": "không phải"}}]) == ""


def test_rules_and_engine_import_without_django_settings():
    """Pure modules: no configured settings needed to import and evaluate."""
    import subprocess
    import sys

    code = (
        "from decimal import Decimal as D; import scoring.engine; "
        "from indicators.scoring_rules import evaluate_rule; "
        "print(evaluate_rule({'type': 'yes_no', 'measure': 'd'}, {'d': '1'}, D(5)).explanation)"
    )
    env = {"PATH": "/usr/bin:/bin"}
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Có → 5 điểm."


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r["type"])
def test_every_rule_message_has_an_english_translation(rule):
    """Each explanation and warning a rule gives, with data and without, is translated (what
    is quoted, such as a level's label, is data)."""
    import re

    from django.utils import translation

    values = {"done": "1", "level": "full", "numerator": "3", "denominator": "0", "count": "2"}
    values |= {"value": "50", "points": "99", "expected_points": "12", "percent": "150"}
    vi_letter = re.compile(
        "[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.I
    )
    for data in (values, {}, {"numerator": "-1", "denominator": "x", "done": "?"}):
        r = evaluate_rule(rule, data, D(10))
        with translation.override("en"):
            texts = [re.sub("“[^”]*”", "", t) for t in [r.explanation_text(), *r.warning_texts()]]
        assert texts and not [t for t in texts if vi_letter.search(t)], texts


HUGE = ["1E+30", "1e9999999", "-1E+9999999", "1E-9999999"]


@pytest.mark.parametrize("raw", HUGE)
@pytest.mark.parametrize("rule", [RATIO, THRESHOLD, COUNT_BANDS, TARGET, MANUAL])
def test_odd_stored_numbers_never_raise(rule, raw):
    """Values stored before the input bounds (1E+30, 1e9999999) give a result, never an
    exception, and its texts render (their numbers are too large to round)."""
    for values in (
        {"numerator": raw, "denominator": "10"},
        {"numerator": "5", "denominator": raw},
        {"numerator": raw, "denominator": raw},
        {"count": raw, "value": raw, "points": raw, "pct": raw},
    ):
        r = evaluate_rule(rule, values, D(10))
        assert D(0) <= r.points <= D(10)
        assert str(r.explanation) is not None and all(isinstance(w, str) for w in r.warnings)
        assert isinstance(r.explanation_text(), str) and r.warning_texts() is not None


def test_round_display_of_a_number_too_large_to_round():
    assert round_display("1E+30") == D("1E+30")
    assert round_display(D("1E+9999999")) == D("1E+9999999")


def test_validate_rule_speaks_the_readers_language():
    """Rule errors reach the reviewer on the indicator form and the publish check: in English
    when the page is in English, numbers in the reader's format."""
    from django.utils import translation

    bad = {**COUNT_BANDS, "bands": [{"min": "1", "points": "99"}]}
    assert "Khoảng 1: điểm phải từ 0 đến 12,5." in validate_rule(bad, KINDS, D("12.5"))
    with translation.override("en"):
        assert "Band 1: the points must be from 0 to 12.5." in validate_rule(bad, KINDS, D("12.5"))
        assert validate_rule({"type": "magic"}, KINDS, D(10)) == [
            "The rule type “magic” is not valid; choose one of: " + ", ".join(RULE_TYPES) + "."
        ]
