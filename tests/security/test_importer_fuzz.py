"""Importer fuzzing (IM1, IM5, IM6): hostile and mangled workbooks never crash the importer and
never leave a partial import. The only allowed failure is the importer's ``ImportFailed``.

Two generators, both seeded from the real 2025 appendix:
- cell-level: random edits of codes, names, points and agency cells (empty, negative, huge,
  text in numbers, formulas, control characters, NFD Vietnamese, duplicate codes, deleted rows);
- byte-level: flipped, truncated and spliced bytes of the .xlsx (zip) file.
The fast suite runs a few dozen examples; the slow suite (``-m slow``) runs hundreds.
"""

from __future__ import annotations

import io
import os
import unicodedata
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.exceptions import IllegalCharacterError

from agencies.models import Agency, AgencyAlias, AgencyGroup
from indicators.models import Framework, Indicator, Measure
from tests.security.figures import record

SOURCE = Path(settings.BASE_DIR) / "data" / "dti_2025_tinh_phu_luc_1.xlsx"
RAW = SOURCE.read_bytes()
FAST_EXAMPLES = int(os.environ.get("FUZZ_FAST_EXAMPLES", "40"))
SLOW_EXAMPLES = int(os.environ.get("FUZZ_SLOW_EXAMPLES", "400"))

HOSTILE_TEXT = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "-",
            "—",
            "=1+1",
            "=cmd|' /C calc'!A0",
            '=HYPERLINK("http://x")',
            "@SUM(A1)",
            "1.1",
            "1.1.",
            "1..1",
            "99",
            "0",
            "-5",
            "1e309",
            "NaN",
            "inf",
            "10,5",
            "10.000,5",
            "1/2",
            "Sở KH&CN",
            "Các sở, ban, ngành",
            "Các địa phương",
            "Sở Không Tồn Tại",
            unicodedata.normalize("NFD", "Sở Thông tin và Truyền thông"),
            "\x00\x01\x1f",
            "\u202e",
            "A" * 5000,
            "Tổng cộng",
            "I",
            "II",
            "<script>alert(1)</script>",
        ]
    ),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
)


def _counts() -> tuple[int, ...]:
    return (
        Framework.objects.count(),
        Indicator.objects.count(),
        Measure.objects.count(),
        Agency.objects.count(),
        AgencyAlias.objects.count(),
        AgencyGroup.objects.count(),
    )


STATS = {"examples": 0, "accepted": 0, "refused": 0}


def _import(data: bytes, create_unknown: bool) -> None:
    from indicators.services import ImportFailed, framework_import

    before = _counts()
    STATS["examples"] += 1
    code = f"fuzz-{STATS['examples']}"
    try:
        report = framework_import(
            actor=None, data=data, code=code, year=2025, create_unknown_agencies=create_unknown
        )
    except ImportFailed as exc:
        STATS["refused"] += 1
        assert exc.report.errors, "a refusal must say why"
        assert _counts() == before, "partial import: the database changed on a refused file"
        return
    STATS["accepted"] += 1
    fw = Framework.objects.get(pk=report.framework_id)
    # An accepted file is imported whole: every node it reported exists.
    assert fw.indicators.filter(level=Indicator.Level.SUB).count() == report.sub_count


def _mutated_workbook(edits, deletions, dup_row) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(RAW))
    ws = wb.worksheets[0]
    for row, col, value in edits:
        cell = ws.cell(row=row, column=col)
        if type(cell).__name__ == "MergedCell":
            continue
        try:
            cell.value = value
        except IllegalCharacterError:  # openpyxl cannot write it; a real file cannot hold it
            cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if dup_row:
        src = [ws.cell(row=dup_row, column=c).value for c in range(1, 6)]
        ws.append(src)
    for row in sorted(set(deletions), reverse=True):
        ws.delete_rows(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


workbook_edits = st.tuples(
    st.lists(
        st.tuples(st.integers(1, 66), st.sampled_from([2, 4, 5, 2, 4, 5, 1, 3, 6]), HOSTILE_TEXT),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.integers(1, 64), max_size=2),
    st.one_of(st.none(), st.integers(6, 64)),
    st.booleans(),
)

byte_edits = st.tuples(
    st.lists(st.tuples(st.integers(0, len(RAW) - 1), st.integers(0, 255)), max_size=8),
    st.one_of(st.none(), st.integers(0, len(RAW))),
    st.booleans(),
)


def _mangle(flips, cut, create_unknown) -> None:
    data = bytearray(RAW)
    for pos, val in flips:
        data[pos] = val
    if cut is not None:
        data = data[:cut]
    _import(bytes(data), create_unknown)


def _run_cells(edits) -> None:
    cell_edits, deletions, dup_row, create_unknown = edits
    _import(_mutated_workbook(cell_edits, deletions, dup_row), create_unknown)


FAST_PHASES = [Phase.explicit, Phase.reuse, Phase.generate]  # shrinking only in the slow run
COMMON = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    "derandomize": False,
}


@pytest.mark.django_db
def test_importer_cell_fuzz_fast():
    @hsettings(max_examples=FAST_EXAMPLES, phases=FAST_PHASES, **COMMON)
    @given(workbook_edits)
    def run(edits):
        _run_cells(edits)

    run()
    record("importer_fuzz_fast", **STATS)


@pytest.mark.django_db
def test_importer_byte_fuzz_fast():
    @hsettings(max_examples=FAST_EXAMPLES, phases=FAST_PHASES, **COMMON)
    @given(byte_edits)
    def run(edits):
        _mangle(*edits)

    run()


@pytest.mark.slow
@pytest.mark.django_db
def test_importer_fuzz_slow():
    STATS.update(examples=0, accepted=0, refused=0)

    @hsettings(max_examples=SLOW_EXAMPLES, **COMMON)
    @given(workbook_edits)
    def cells(edits):
        _run_cells(edits)

    @hsettings(max_examples=SLOW_EXAMPLES, **COMMON)
    @given(byte_edits)
    def raw(edits):
        _mangle(*edits)

    cells()
    raw()
    record("importer_fuzz_slow", **STATS)


@pytest.mark.django_db
def test_original_file_imports_once():
    _import(RAW, True)
    assert STATS["accepted"] >= 1
