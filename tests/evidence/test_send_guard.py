"""Sending what is stored: the lead's send re-checks the consolidation rule saving enforces, the
item page does not offer the send while the form shows unsaved values, and a save from an old
tab says what happened (sent meanwhile, or changed in another of the user's sessions)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dti_portal.errors import Conflict, ValidationFailed
from evidence import services
from evidence.models import Notification, Submission, SubmissionTransition
from tests.evidence.reporting_factories import make_world

pytestmark = pytest.mark.django_db

CONSOLIDATION_MESSAGE = (
    "Số liệu tổng hợp khác với tổng các cơ quan phối hợp: cần ghi lý do điều chỉnh."
)


@pytest.fixture
def world(agency_a, agency_b):
    return make_world(agency_a, agency_b)


def sent(user, world, values):
    sub = services.submission_create(
        actor=user, indicator=world.ratio, period=world.period, values=values
    )
    return services.submission_submit(submission=sub, actor=user, version=sub.version)


def consolidation(world, values, reason=""):
    return services.submission_create(
        actor=world.lead_user,
        indicator=world.ratio,
        period=world.period,
        values=values,
        consolidation_reason=reason,
    )


def item_url(world):
    return reverse("evidence:submission_edit", args=[world.period.pk, world.ratio.pk])


# --- the send re-checks the consolidation --------------------------------------------------


def test_send_refused_when_stored_consolidation_no_longer_matches(world, user_a, user_b):
    sent(user_a, world, {"numerator": "3", "denominator": "4"})
    cons = consolidation(world, {"numerator": "3", "denominator": "4"})  # matches A alone
    sent(user_b, world, {"numerator": "1", "denominator": "2"})  # proposal now 4/6
    before = (Notification.objects.count(), SubmissionTransition.objects.count())
    with pytest.raises(ValidationFailed) as exc:
        services.submission_submit(submission=cons, actor=world.lead_user, version=cons.version)
    assert exc.value.message == CONSOLIDATION_MESSAGE
    assert exc.value.errors == {"consolidation_reason": [CONSOLIDATION_MESSAGE]}
    fresh = Submission.objects.get(pk=cons.pk)
    assert (fresh.state, fresh.version, fresh.submitted_at) == ("draft", cons.version, None)
    assert (Notification.objects.count(), SubmissionTransition.objects.count()) == before

    # With the reason stored, the same values go.
    cons = services.submission_update(
        submission=fresh,
        actor=world.lead_user,
        version=fresh.version,
        consolidation_reason="Sở B gửi sau, số liệu đã đối chiếu",
    )
    done = services.submission_submit(submission=cons, actor=world.lead_user, version=cons.version)
    assert done.state == Submission.State.SUBMITTED


def test_send_of_matching_consolidation_needs_no_reason(world, user_a, user_b):
    sent(user_a, world, {"numerator": "3", "denominator": "4"})
    sent(user_b, world, {"numerator": "1", "denominator": "2"})
    cons = consolidation(world, {"numerator": "4", "denominator": "6"})
    done = services.submission_submit(submission=cons, actor=world.lead_user, version=cons.version)
    assert done.state == Submission.State.SUBMITTED


def test_send_page_says_why_and_sends_nothing(world, user_a, user_b, client_as):
    sent(user_a, world, {"numerator": "3", "denominator": "4"})
    cons = consolidation(world, {"numerator": "3", "denominator": "4"})
    sent(user_b, world, {"numerator": "1", "denominator": "2"})
    c = client_as(world.lead_user)
    resp = c.post(
        reverse("evidence:submission_send", args=[cons.pk]), {"version": cons.version}, follow=True
    )
    assert CONSOLIDATION_MESSAGE in resp.content.decode()
    assert Submission.objects.get(pk=cons.pk).state == Submission.State.DRAFT


# --- the page does not offer the send over unsaved values ------------------------------------


def send_button(html: str) -> str:
    """The send form's markup (its action ends with /send/)."""
    start = html.index("/send/")
    return html[start : html.index("</form>", start)]


def test_send_offered_when_the_form_shows_the_stored_values(world, user_a, client_as):
    services.submission_create(
        actor=user_a, indicator=world.ratio, period=world.period, values={"numerator": "1"}
    )
    html = client_as(user_a).get(item_url(world)).content.decode()
    form = send_button(html)
    assert 'data-unsaved-form="values-form"' in form
    assert "Bạn có thay đổi chưa lưu: hãy lưu bản nháp trước khi gửi." in form
    assert "disabled" not in form and 'id="unsaved-warning"' not in html
    assert "data-unsaved" not in html.split('id="values-form"')[1].split(">")[0]


def test_refused_save_disables_the_send(world, user_a, client_as):
    sent(user_a, world, {"numerator": "3", "denominator": "4"})
    cons = consolidation(world, {"numerator": "3", "denominator": "4"})
    c = client_as(world.lead_user)
    resp = c.post(
        item_url(world),
        {"version": cons.version, "v_numerator": "4", "v_denominator": "4", "action": "save"},
    )
    assert resp.status_code == 400
    html = resp.content.decode()
    assert CONSOLIDATION_MESSAGE in html
    assert 'value="4"' in html  # what was typed stays in the form
    assert 'id="unsaved-warning"' in html
    assert "disabled" in send_button(html)
    assert "data-unsaved" in html.split('id="values-form"')[1].split(">")[0]
    assert Submission.objects.get(pk=cons.pk).values == {"numerator": "3", "denominator": "4"}


def test_proposal_shown_but_not_saved_disables_the_send(world, user_a, user_b, client_as):
    sent(user_a, world, {"numerator": "3", "denominator": "4"})
    consolidation(world, {"numerator": "3", "denominator": "4"})
    sent(user_b, world, {"numerator": "1", "denominator": "2"})
    html = client_as(world.lead_user).get(item_url(world) + "?use_proposal=1").content.decode()
    assert 'value="6"' in html  # the proposal in the form, not saved yet
    assert "disabled" in send_button(html)


# --- conflict messages -----------------------------------------------------------------------


def test_save_from_an_old_tab_after_the_send_says_it_was_sent(world, user_a, client_as):
    sub = services.submission_create(
        actor=user_a,
        indicator=world.ratio,
        period=world.period,
        values={"numerator": "3", "denominator": "4"},
    )
    seen = sub.version
    services.submission_submit(submission=sub, actor=user_a, version=seen)
    with pytest.raises(Conflict) as exc:
        services.submission_update(
            submission=sub, actor=user_a, version=seen, values={"numerator": "1"}
        )
    assert exc.value.code == "wrong_state"
    assert "đã được gửi" in exc.value.message and "Đã gửi cơ quan chủ trì" in exc.value.message

    resp = client_as(user_a).post(
        item_url(world),
        {"version": seen, "v_numerator": "86", "v_denominator": "86", "action": "save"},
    )
    assert resp.status_code == 409
    html = resp.content.decode()
    assert "Báo cáo đã được gửi (trạng thái “Đã gửi cơ quan chủ trì”)" in html
    assert "xung đột" not in html and "lưu lại nếu" not in html  # nothing to save again
    assert 'id="typed-values"' in html and "<strong>86</strong>" in html  # typed, listed
    assert 'value="3"' in html and 'value="86"' not in html  # the form shows what is stored
    assert "<fieldset disabled>" in html
    assert 'id="unsaved-warning"' not in html  # no send offered at all
    assert Submission.objects.get(pk=sub.pk).values == {"numerator": "3", "denominator": "4"}


def test_stale_save_by_the_same_user_blames_no_one_else(world, user_a, client_as):
    sub = services.submission_create(
        actor=user_a, indicator=world.ratio, period=world.period, values={"numerator": "1"}
    )
    url = item_url(world)
    tab1, tab2 = client_as(user_a), client_as(user_a)
    form = {"version": sub.version, "v_numerator": "2", "v_denominator": "", "action": "save"}
    assert tab1.post(url, form).status_code == 302
    resp = tab2.post(url, {**form, "v_numerator": "5"})
    assert resp.status_code == 409
    html = resp.content.decode()
    assert "phiên làm việc khác" in html and "người khác" not in html
    assert "lưu lại nếu bạn muốn thay thế" in html  # still editable: saving again is the way
    assert 'id="unsaved-warning"' in html


def test_stale_send_by_the_same_user_blames_no_one_else(world, user_a):
    sub = services.submission_create(
        actor=user_a, indicator=world.ratio, period=world.period, values={"numerator": "1"}
    )
    services.submission_update(
        submission=sub, actor=user_a, version=sub.version, values={"numerator": "2"}
    )
    with pytest.raises(Conflict) as exc:
        services.submission_submit(submission=sub, actor=user_a, version=sub.version)
    assert exc.value.code == "stale_version"
    assert "phiên làm việc khác" in exc.value.message and "người khác" not in exc.value.message


def test_a_sent_item_page_offers_no_save_buttons(world, user_a, client_as):
    sent(user_a, world, {"numerator": "3", "denominator": "4"})
    html = client_as(user_a).get(item_url(world)).content.decode()
    assert "Báo cáo đã gửi: chỉ xem." in html
    assert 'value="save"' not in html and 'value="carry_over"' not in html


# --- what a period's figures are --------------------------------------------------------------


def test_the_form_says_figures_are_as_at_the_end_of_the_period(world, user_a, client_as):
    """Each period is scored from its own figures alone: the form tells the agency that counts
    are cumulative from January, so a quarter's increment alone is not entered by mistake."""
    html = client_as(user_a).get(item_url(world)).content.decode()
    assert 'aria-describedby="values-help"' in html.split('id="values-form"')[1].split(">")[0]
    help_text = html.split('id="values-help">')[1].split("</p>")[0]
    assert "cộng dồn từ đầu năm (lũy kế)" in help_text
    assert "không cộng các kỳ với nhau" in help_text
