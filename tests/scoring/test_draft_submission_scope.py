"""A draft is its agency's work in progress (AC11): the province roles never see it, nor does a
lead agency see its coordinators' drafts. The score table (main-index pages, the Excel
appendix) showed each sub-indicator's state and evidence count from every submission of the
period: a lead's draft came out as "Nháp" to leaders and reviewers, and the files attached to
drafts (the lead's, or a coordinator's) were counted, to them and to the lead."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from evidence.models import Submission
from scoring.dashboards.selectors import score_table

from .dash_helpers import add_evidence, q

pytestmark = pytest.mark.django_db

DRAFT_LABEL = "Nháp"


@pytest.fixture
def drafts(world):
    """C has a draft of 3.1 (which it leads) with two files; B, a coordinator of 2.1, a draft
    contribution with one file. 2.1's lead (A) has sent its item with one file."""
    c_draft = Submission.objects.create(
        indicator=world.subs["3.1"], agency=world.agencies["c"], period=world.period, values={}
    )
    for name in ("Bản nháp 1.pdf", "Bản nháp 2.pdf"):
        add_evidence(c_draft, name, uploader=world.staff["a"])
    b_draft = Submission.objects.create(
        indicator=world.subs["2.1"], agency=world.agencies["b"], period=world.period, values={}
    )
    add_evidence(b_draft, "Phần phối hợp nháp.pdf", uploader=world.staff["b"])
    assert {c_draft.state, b_draft.state} == {Submission.State.DRAFT}
    return world


def _rows(user, w):
    return {s.code: s for s in score_table(user=user, framework=w.framework, period=w.period).subs}


@pytest.mark.parametrize("role", ["leader", "reviewer"])
def test_province_roles_see_neither_drafts_nor_their_files(drafts, role, request):
    rows = _rows(request.getfixturevalue(role), drafts)
    assert rows["3.1"].state == "" and rows["3.1"].state_label == "Chưa báo cáo"
    assert rows["3.1"].evidence_count == 0
    assert rows["2.1"].evidence_count == 1  # A's sent file, not B's draft one


def test_lead_does_not_count_a_coordinators_draft_files(drafts):
    rows = _rows(drafts.staff["a"], drafts)
    assert rows["2.1"].evidence_count == 1
    # The coordinator still sees its own draft's file.
    assert _rows(drafts.staff["b"], drafts)["2.1"].evidence_count == 1


def test_main_index_page_and_excel_appendix_show_no_draft(drafts, client_as, leader):
    c = client_as(leader)
    page = c.get(reverse("scoring:main_index", args=["3"]) + q(drafts)).content.decode()
    assert "Theo dõi đô thị thông minh" in page and DRAFT_LABEL not in page
    resp = c.post(reverse("scoring:exports") + q(drafts), {"kind": "excel"})
    dl = c.get(resp.url.rstrip("/") + "/download/")
    content = b"".join(dl.streaming_content) if dl.streaming else dl.content
    wb = load_workbook(io.BytesIO(content), read_only=True)
    cells = [v for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row]
    assert DRAFT_LABEL not in cells
