"""``import_national_results``: DTI from the framework's weights, ranks with ties, all-or-nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from indicators.models import Indicator
from scoring.models import NationalResult
from tests.factories import IndicatorFactory

from .helpers import published_framework

D = Decimal
pytestmark = pytest.mark.django_db

WEIGHTS_2022 = [100, 100, 100, 100, 100, 200, 150, 150]
DA_NANG = ["1.0000", "0.9000", "0.8253", "0.8487", "0.7578", "0.8575", "0.7836", "0.5197"]


@pytest.fixture
def fw2022():
    """The 2022 provincial set's weights over its eight scored main indices (plus a 0-point one)."""
    fw = published_framework(code="dti-2022", year=2022, total_points=D(1000))
    for i, w in enumerate(WEIGHTS_2022, start=1):
        IndicatorFactory(framework=fw, level=Indicator.Level.MAIN, code=str(i), max_points=D(w))
    IndicatorFactory(framework=fw, level=Indicator.Level.MAIN, code="9", max_points=D(0))
    return fw


def write_csv(tmp_path, rows, header=None):
    header = header or ["province", *[str(i) for i in range(1, 9)], "dti", "rank"]
    path = tmp_path / "national.csv"
    path.write_text("\n".join(",".join(map(str, r)) for r in [header, *rows]), encoding="utf-8")
    return path


def run(*args):
    out = StringIO()
    call_command("import_national_results", *map(str, args), stdout=out)
    return out.getvalue()


def test_da_nang_2022_reproduced(tmp_path, fw2022):
    path = write_csv(tmp_path, [["Đà Nẵng", *DA_NANG, "0.8002", "1"]])
    result = json.loads(run(path, "--framework", "dti-2022", "--year", 2022, "--json"))
    assert result == [{"province": "Đà Nẵng", "dti": 0.8002, "rank": 1}]
    row = NationalResult.objects.get(framework=fw2022, year=2022, province="Đà Nẵng")
    assert abs(row.dti - D("0.8002")) <= D("0.0001")
    assert row.published_dti == D("0.8002") and row.published_rank == 1
    assert row.main_values["6"] == "0.8575"


def test_ranks_with_ties_like_the_ministry(tmp_path, fw2022):
    ones = ["1"] * 8
    halves = ["0.5"] * 8
    rows = [
        ["Tỉnh C", *halves, "", ""],
        ["Tỉnh A", *ones, "", ""],
        ["Tỉnh B1", *["0.8"] * 8, "", ""],
        ["Tỉnh B2", *["0.8"] * 8, "", ""],
    ]
    result = json.loads(
        run(write_csv(tmp_path, rows), "--framework", "dti-2022", "--year", 2023, "--json")
    )
    assert [(r["province"], r["rank"]) for r in result] == [
        ("Tỉnh A", 1),
        ("Tỉnh B1", 2),
        ("Tỉnh B2", 2),
        ("Tỉnh C", 4),
    ]
    assert result[0]["dti"] == 1.0 and result[-1]["dti"] == 0.5


def test_xlsx_and_reimport_replaces(tmp_path, fw2022):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["province", *[str(i) for i in range(1, 9)]])
    ws.append(["Đà Nẵng", *[float(v) for v in DA_NANG]])
    ws.append(["Hà Nội", *[0.7] * 8])
    path = tmp_path / "n.xlsx"
    wb.save(path)
    out = run(path, "--framework", "dti-2022", "--year", 2022)
    assert "Đà Nẵng" in out and "0.8002" in out
    run(path, "--framework", "dti-2022", "--year", 2022)
    assert NationalResult.objects.filter(year=2022).count() == 2


@pytest.mark.parametrize(
    "rows,header,message",
    [
        ([["Đà Nẵng", *DA_NANG[:7], "1.5", "", ""]], None, "từ 0 đến 1"),
        ([["Đà Nẵng", *DA_NANG[:7], "abc", "", ""]], None, "từ 0 đến 1"),
        ([["", *DA_NANG, "", ""]], None, "thiếu tên"),
        ([["A", *DA_NANG, "", ""], ["a", *DA_NANG, "", ""]], None, "trùng"),
        ([["A", *DA_NANG[:7]]], ["province", *[str(i) for i in range(1, 8)]], "Thiếu cột"),
        ([["A", *DA_NANG]], ["tinh", *[str(i) for i in range(1, 9)]], "province"),
        ([["A", *DA_NANG, "x", ""]], None, "dti"),
        ([["A", *DA_NANG, "", "1.5"]], None, "rank"),
        ([], None, "không có dòng"),
    ],
)
def test_bad_file_writes_nothing(tmp_path, fw2022, rows, header, message):
    good = write_csv(tmp_path, [["Cũ", *DA_NANG, "", ""]])
    run(good, "--framework", "dti-2022", "--year", 2022)
    path = tmp_path / "bad.csv"
    path.write_text(
        "\n".join(
            ",".join(map(str, r))
            for r in [header or ["province", *[str(i) for i in range(1, 9)], "dti", "rank"], *rows]
        ),
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as exc:
        run(path, "--framework", "dti-2022", "--year", 2022)
    assert message.lower() in str(exc.value).lower()
    assert list(NationalResult.objects.values_list("province", flat=True)) == ["Cũ"]


def test_unknown_framework_missing_file_and_wrong_type(tmp_path, fw2022):
    path = write_csv(tmp_path, [["A", *DA_NANG, "", ""]])
    with pytest.raises(CommandError):
        run(path, "--framework", "nope", "--year", 2022)
    with pytest.raises(CommandError):
        run(tmp_path / "missing.csv", "--framework", "dti-2022", "--year", 2022)
    txt = tmp_path / "a.txt"
    txt.write_text("x")
    with pytest.raises(CommandError):
        run(txt, "--framework", "dti-2022", "--year", 2022)
    assert not NationalResult.objects.exists()


def test_import_is_audited(tmp_path, fw2022):
    from agencies.models import AuditEvent

    run(write_csv(tmp_path, [["A", *DA_NANG, "", ""]]), "--framework", "dti-2022", "--year", 2022)
    assert AuditEvent.objects.filter(action="national_results.import").count() == 1


def test_projected_rank_ties_at_the_published_precision():
    from scoring.dashboards.selectors import rank_among

    # 0.80016 and 0.8002 are both published as 0,8002: the same rank.
    assert rank_among(Decimal("0.80016"), [Decimal("0.8002")]) == 1
    assert rank_among(Decimal("0.80014"), [Decimal("0.8002")]) == 2
    assert rank_among(Decimal("0.5"), [Decimal("0.9"), Decimal("0.9"), Decimal("0.4")]) == 3


def test_pages_show_the_published_dti_and_rank_over_the_recomputed(tmp_path, fw2022, client_as):
    """Recomputed from main-index values published to 4 decimals, two close provinces can tie or
    swap; where the Ministry's table gives a DTI and a rank, those are official and shown."""
    from django.urls import reverse

    from scoring.dashboards.selectors import national_comparison, national_rows
    from tests.factories import UserFactory

    close = ["0.8000"] * 8
    rows = [
        # Equal once rounded: recomputed, both rank 1; the Ministry ranked Khánh Hòa second.
        ["Tỉnh Phú Yên", *close, "0.80004", "1"],
        ["Khánh Hòa", *close, "0.79996", "2"],
        ["Tỉnh Cuối", *["0.5"] * 8, "0.5", "3"],
    ]
    out = run(write_csv(tmp_path, rows), "--framework", "dti-2022", "--year", 2024)
    assert "1 tỉnh, thành phố có hạng tính lại khác hạng công bố" in out
    ours = NationalResult.objects.get(province="Khánh Hòa")
    assert (ours.rank, ours.official_rank) == (1, 2)
    assert ours.official_dti == D("0.79996")

    _year, table = national_rows(fw2022)
    assert [r.province for r in table] == ["Tỉnh Phú Yên", "Khánh Hòa", "Tỉnh Cuối"]
    nat = national_comparison(fw2022)
    assert (nat["rank"], nat["dti"]) == (2, D("0.79996"))

    leader = UserFactory(role="leader", agency=None)
    html = client_as(leader).get(reverse("scoring:national")).content.decode()
    assert '<td class="num">2</td><td>Khánh Hòa</td><td class="num">0,8000</td>' in html


@pytest.mark.parametrize(
    "published",
    [
        [("0.9", "1"), ("0.8", "2"), ("", "")],  # one row without: its rank would be recomputed
        [("0.9", ""), ("0.8", ""), ("0.95", "")],  # DTI without ranks
        [("", "1"), ("", "2"), ("", "3")],  # ranks without DTI
    ],
)
def test_published_columns_are_complete_or_absent(tmp_path, fw2022, published):
    """A published rank beside recomputed ones would give two provinces one place (found by the
    review: 1, 1, 2): the pair of columns is filled on every row or on none, else refused."""
    names = ["Tỉnh Phú Yên", "Tỉnh Bình Định", "Khánh Hòa"]
    values = [["0.9"] * 8, ["0.8"] * 8, ["0.95"] * 8]
    rows = [[n, *v, d, r] for n, v, (d, r) in zip(names, values, published, strict=True)]
    with pytest.raises(CommandError, match="phải ghi đủ cho mọi tỉnh"):
        run(write_csv(tmp_path, rows), "--framework", "dti-2022", "--year", 2024)
    assert not NationalResult.objects.exists()


# --- the import page ----------------------------------------------------------------------------


def publish(fw):
    from indicators.models import Framework

    Framework.objects.filter(pk=fw.pk).update(status=Framework.Status.PUBLISHED)  # FSM-guarded


def _upload(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def _csv_bytes(rows):
    header = ["province", *[str(i) for i in range(1, 9)], "dti", "rank"]
    return "\n".join(",".join(map(str, r)) for r in [header, *rows]).encode()


def test_the_sở_imports_the_table_from_the_page(client_as, reviewer, fw2022):
    from django.urls import reverse

    publish(fw2022)
    c = client_as(reviewer)
    page = c.get(reverse("scoring:national_import")).content.decode()
    assert "province, 1, 2, 3, 4, 5, 6, 7, 8, dti, rank" in page  # the columns of each framework
    body = _csv_bytes(
        [["Đà Nẵng", *DA_NANG, "0.8002", "1"], ["Khánh Hòa", *["0.7"] * 8, "0.7", "2"]]
    )
    r = c.post(
        reverse("scoring:national_import"),
        {"framework": "dti-2022", "year": "2022", "file": _upload("kq.csv", body)},
    )
    assert r.status_code == 302 and r.url.endswith("?framework=dti-2022")
    assert NationalResult.objects.filter(year=2022).count() == 2
    from agencies.models import AuditEvent

    event = AuditEvent.objects.get(action="national_results.import")
    assert event.actor == reviewer and event.data["file"] == "kq.csv"
    html = c.get(r.url).content.decode()
    assert "Đã nhập kết quả công bố năm 2022: 2 tỉnh, thành phố." in html


def _xlsx_bomb() -> bytes:
    """A real workbook plus one part of 51 MB of spaces: small on disk, huge inflated."""
    import io
    import zipfile

    wb = openpyxl.Workbook()
    wb.active.append(["province"])
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("xl/worksheets/sheet9.xml", b" " * (51 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("kq.csv", "bad_value", "giá trị “1.5” phải là số từ 0 đến 1"),
        ("kq.xlsx", "not_a_zip", "Tệp .xlsx bị hỏng"),
        ("kq.xlsx", "zip_bomb", "zip bomb"),
        ("kq.csv", "latin1", "UTF-8"),
    ],
)
def test_a_bad_or_hostile_file_changes_nothing(
    tmp_path, client_as, reviewer, fw2022, name, content, message
):
    from django.urls import reverse

    publish(fw2022)
    run(
        write_csv(tmp_path, [["Hà Nội", *["0.6"] * 8, "", ""]]),
        "--framework",
        "dti-2022",
        "--year",
        2022,
    )
    data = {
        "bad_value": lambda: _csv_bytes([["Đà Nẵng", *DA_NANG[:7], "1.5", "", ""]]),
        "not_a_zip": lambda: b"PK\x03\x04 not really a zip",
        "zip_bomb": _xlsx_bomb,
        "latin1": lambda: "province,1\nĐà Nẵng,1".encode("cp1258", errors="replace"),
    }[content]()
    r = client_as(reviewer).post(
        reverse("scoring:national_import"),
        {"framework": "dti-2022", "year": "2022", "file": _upload(name, data)},
    )
    assert r.status_code == 200
    assert message in r.content.decode()
    assert list(NationalResult.objects.values_list("province", flat=True)) == ["Hà Nội"]


def test_only_the_sở_may_import(client_as, leader, fw2022):
    from django.urls import reverse

    publish(fw2022)
    assert client_as(leader).get(reverse("scoring:national_import")).status_code == 403
    html = client_as(leader).get(reverse("scoring:national")).content.decode()
    assert "chưa nhập kết quả công bố toàn quốc." in html
    assert reverse("scoring:national_import") not in html


def test_national_api_refusal_follows_the_chosen_language(db, user_a, api_as, settings):
    c = api_as(user_a)
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    r = c.get("/api/v1/scores/national/")
    assert r.status_code == 403
    assert r.json()["detail"] == (
        "Only leaders and the Department of Science and Technology can see the national comparison."
    )


def test_a_reimport_audits_what_it_replaced(tmp_path, fw2022):
    """The Ministry's table is official data: replacing a year's rows says how many it
    replaced, and their DTIs, so the audit log shows a correction was made."""
    from agencies.models import AuditEvent

    run(write_csv(tmp_path, [["A", *DA_NANG, "", ""]]), "--framework", "dti-2022", "--year", 2022)
    run(
        write_csv(tmp_path, [["A", *["0.7"] * 8, "", ""]]),
        "--framework",
        "dti-2022",
        "--year",
        2022,
    )
    first, second = AuditEvent.objects.filter(action="national_results.import").order_by("id")
    assert first.data["replaced"] == {}
    assert list(second.data["replaced"]) == ["A"]
    assert second.data["replaced"]["A"].startswith("0.800")  # Đà Nẵng's 0.8002, not 0.7


def test_only_a_reviewer_imports_through_the_service(tmp_path, fw2022, user_a):
    from dti_portal.errors import NotAllowed
    from scoring.services import national_results_import

    path = write_csv(tmp_path, [["A", *DA_NANG, "", ""]])
    with pytest.raises(NotAllowed):
        national_results_import(
            data=path.read_bytes(),
            file_name="n.csv",
            framework_code="dti-2022",
            year=2022,
            actor=user_a,
        )
    assert not NationalResult.objects.exists()
