"""The declared authorization matrix: every URL route and API route → who may do what.

``tests/security/test_authz_matrix.py`` enumerates the URL resolver and fails when a route has no
entry here (deny by default: a new route must be declared), then checks every declared method for
each persona against the expectation.

Personas: ``anon``; ``own`` = staff of agency A, which owns the objects of the world (its
submission, evidence, notification, export job...); ``other`` = staff of agency B, unrelated to
A; ``reviewer`` (Sở KH&CN); ``leader`` (read-only province); ``council`` (the appraisal council:
reads the province like a leader, and sets approved items' final points); ``admin``.

Expectations: ``A`` allowed (2xx, a redirect that is not to the login/MFA page, or a 400/409:
the request passed authorization and was refused on its content or state); ``D`` denied (401,
403, 404, 405 or a redirect to the login page); ``H`` hidden: exactly 404 (another agency's
object: not even its existence leaks). An expectation may depend on the object's state:
``{"draft": H, "*": A}``. ``N``: anything but an allow (for actions that need a precondition
the world does not set up: only a write that happens is a failure).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

A, D, H, N = "A", "D", "H", "N"
ROLES = ("anon", "own", "other", "reviewer", "leader", "council", "admin")
SUB_STATES = ("draft", "submitted", "approved")

Exp = str | dict[str, str]


def roles(
    anon: Exp = D,
    own: Exp = D,
    other: Exp = D,
    reviewer: Exp = D,
    leader: Exp = D,
    admin: Exp = D,
    *,
    council: Exp | None = None,
) -> dict[str, Exp]:
    """Positional in ``ROLES`` order without the council, which reads the province like a leader
    unless told otherwise (its only writes are the final points)."""
    return {
        "anon": anon,
        "own": own,
        "other": other,
        "reviewer": reviewer,
        "leader": leader,
        "council": leader if council is None else council,
        "admin": admin,
    }


PUBLIC = roles(A, A, A, A, A, A)
ANY_USER = roles(D, A, A, A, A, A)
PROVINCE = roles(D, D, D, A, A, A)  # reviewers, leaders, the council, admins
REVIEWERS = roles(D, D, D, A, D, A)
ADMINS = roles(D, D, D, D, D, A)
STAFF_ONLY = roles(D, A, A, D, D, D)
# An agency's object: its own staff see it, the province roles once it was sent (a draft is
# the agency's work in progress: 404, AC11); another agency: 404.
SENT = {"draft": H, "*": A}
OWN_READ = roles(D, A, H, SENT, SENT, SENT)
OWN_WRITE = roles(D, A, H, D, D, D)  # writing is the agency's job; others refused
OWN_REVIEW = roles(D, D, H, SENT, D, SENT)  # the Sở's actions on an agency's submission


@dataclass
class Rule:
    """What a route allows. ``kw`` maps URL kwargs to world objects ("submission", ...), or is
    a callable ``(world) -> dict``. ``data`` per method: ``(world, obj) -> dict`` (JSON for the
    API). ``states``: submission states the check is repeated in."""

    methods: dict[str, dict[str, Exp]]
    kw: dict[str, str] | Callable[[Any], dict[str, Any]] = field(default_factory=dict)
    data: dict[str, Callable[[Any], dict[str, Any]]] = field(default_factory=dict)
    states: tuple[str, ...] = ("draft",)
    multipart: bool = False
    query: Callable[[Any], str] | None = None
    redirect_ok: bool = False  # e.g. logout, set_language: the redirect is the success
    note: str = ""


def _version(w: Any) -> dict[str, Any]:
    return {"version": w.submission.version}


def _reason(w: Any) -> dict[str, Any]:
    return {"version": w.submission.version, "reason": "Thiếu minh chứng", "reason_code": "khac"}


def _final(w: Any) -> dict[str, Any]:
    return {"version": w.submission.version, "final_points": "5", "reason": "Hội đồng chốt"}


def _upload(w: Any) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    # another content than the evidence already attached: the same file twice is refused
    data = w.pdf + b"%bo-sung\n"
    return {"file": SimpleUploadedFile("bao-cao.pdf", data, "application/pdf"), "summary": "x"}


def _framework_file(w: Any) -> dict[str, Any]:
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = (settings.BASE_DIR / "data" / "dti_2025_tinh_phu_luc_1.xlsx").read_bytes()
    return {
        "file": SimpleUploadedFile("phu-luc.xlsx", data),
        "code": "fw-matrix",
        "year": 2026,
        "create_unknown_agencies": "true",
    }


def _fw_query(w: Any) -> str:
    return f"?framework={w.framework.code}&period={w.period.pk}"


SUB = {"pk": "submission"}
EV = {"pk": "evidence"}
NOTE = {"pk": "notification"}
PERIOD = {"period_pk": "period"}
PERIOD_PK = {"pk": "period"}
ITEM = {"period_pk": "period", "indicator_pk": "sub"}
JOB = {"job_id": "export_job"}
JOB_API = {"pk": "export_job"}
# Files of a submission change only while it is a draft (or returned), by its agency.
OWN_DRAFT_WRITE = roles(D, {"draft": A, "*": D}, H, D, D, D)
# Review pages: role-gated before any lookup, so every non-reviewer gets the same 403.
REVIEW_PAGE = roles(D, D, D, SENT, D, SENT)
REVIEW_PAGE_WHEN_SUBMITTED = roles(D, D, D, {"submitted": A, "*": D}, D, {"submitted": A, "*": D})
REVIEW_PAGE_WHEN_APPROVED = roles(D, D, D, {"approved": A, "*": D}, D, {"approved": A, "*": D})
# Needs a preview in the session first: nothing may be written without it.
NEEDS_PREVIEW = roles(D, N, N, N, N, N)
# Pages about one indicator: the agencies assigned to it (A leads 1.1) and the province.
ASSIGNED = roles(D, A, H, A, A, A)
# A notification: only its recipient (staff of A) opens it.
RECIPIENT = roles(D, A, H, H, H, H)
# An export job: the user who asked for it (the leader in the world), and administrators.
JOB_OWNER = roles(D, H, H, H, A, A, council=H)
# The council's final points: its members, or a reviewer recording its minutes.
COUNCIL_PAGE = roles(D, D, D, A, D, A, council=A)
FINAL_PAGE = roles(
    D,
    D,
    D,
    {"approved": A, "*": D},
    D,
    {"approved": A, "*": D},
    council={"approved": A, "*": D},
)
FINAL_API = roles(D, D, H, SENT, D, SENT, council=SENT)

MATRIX: dict[str, Rule] = {
    # --- project pages --------------------------------------------------------------------------
    "home": Rule({"GET": ANY_USER}),
    "login": Rule({"GET": PUBLIC}, note="public login form"),
    "logout": Rule(
        {"POST": roles(N, N, N, N, N, N)}, note="ends the caller's own session only; writes nothing"
    ),
    "password_change": Rule({"GET": ANY_USER}),
    "profile": Rule({"GET": ANY_USER}),
    "set_language": Rule(
        {"POST": PUBLIC},
        data={"POST": lambda w: {"language": "en"}},
        redirect_ok=True,
        note="stores a language preference only",
    ),
    "health": Rule({"GET": PUBLIC}, note="liveness for the proxy: no data"),
    "schema": Rule({"GET": ANY_USER}, note="CF2: the schema is not public"),
    "api-docs": Rule({"GET": ANY_USER}),
    "api-redoc": Rule({"GET": ANY_USER}),
    "bench-floor": Rule({"GET": ANY_USER}, note="exists only with DTI_BENCH_FLOOR_VIEW"),
    # --- MFA -------------------------------------------------------------------------------------
    "agencies:mfa_setup": Rule({"GET": ANY_USER}, note="enrols the caller's own device"),
    "agencies:mfa_verify": Rule({"GET": ANY_USER}),
    "agencies:mfa_backup_codes": Rule(
        {"GET": ANY_USER, "POST": roles(D, N, N, N, N, N)},
        note="the caller's own backup codes; a POST needs an MFA-verified session, which no "
        "persona of the world has (it is redirected to the MFA pages, nothing written)",
    ),
    # --- API auth ----------------------------------------------------------------------------------
    "api:api-token": Rule(
        {"POST": PUBLIC}, data={"POST": lambda w: {"username": "nobody", "password": "x"}}
    ),
    "api:api-logout": Rule(
        {"POST": roles(D, D, D, D, D, D)},
        note="token-authenticated only: a browser session cannot call it (401)",
    ),
    # --- reporting pages (evidence) ----------------------------------------------------------
    "evidence:inbox": Rule({"GET": ANY_USER}),
    "evidence:submission_edit": Rule(
        {"GET": OWN_WRITE, "POST": OWN_WRITE},
        kw=ITEM,
        data={"POST": lambda w: {"done": "1", "note": "x", "version": w.submission.version}},
        states=SUB_STATES,
    ),
    "evidence:points_preview": Rule(
        {"POST": OWN_WRITE}, kw=ITEM, data={"POST": lambda w: {"done": "1"}}
    ),
    "evidence:submission_detail": Rule({"GET": OWN_READ}, kw=SUB, states=SUB_STATES),
    "evidence:submission_send": Rule(
        {"POST": OWN_DRAFT_WRITE}, kw=SUB, data={"POST": _version}, states=SUB_STATES
    ),
    "evidence:evidence_upload": Rule(
        {"POST": OWN_DRAFT_WRITE}, kw=SUB, data={"POST": _upload}, multipart=True, states=SUB_STATES
    ),
    "evidence:evidence_reuse": Rule(
        {"POST": OWN_DRAFT_WRITE},
        kw=SUB,
        data={"POST": lambda w: {"source": w.obj("prev_evidence").pk}},
        states=SUB_STATES,
    ),
    "evidence:evidence_download": Rule({"GET": OWN_READ}, kw=EV, states=SUB_STATES),
    "evidence:evidence_remove": Rule({"POST": OWN_DRAFT_WRITE}, kw=EV, states=SUB_STATES),
    "evidence:workbook_download": Rule({"GET": STAFF_ONLY}, kw=PERIOD),
    "evidence:workbook_upload": Rule({"POST": STAFF_ONLY}, kw=PERIOD),
    "evidence:workbook_confirm": Rule({"POST": NEEDS_PREVIEW}, kw=PERIOD),
    "evidence:review_queue": Rule({"GET": REVIEWERS}),
    "evidence:review_bulk_approve": Rule(
        {"POST": REVIEWERS},
        data={"POST": lambda w: {"items": [f"{w.submission.pk}:{w.submission.version}"]}},
        states=("submitted",),
        note="approves the selected submitted items",
    ),
    "evidence:review_council": Rule({"GET": COUNCIL_PAGE}),
    "evidence:review_detail": Rule({"GET": REVIEW_PAGE}, kw=SUB, states=SUB_STATES),
    "evidence:review_start": Rule(
        {"POST": REVIEW_PAGE_WHEN_SUBMITTED}, kw=SUB, data={"POST": _version}, states=SUB_STATES
    ),
    "evidence:review_approve": Rule(
        {"POST": REVIEW_PAGE_WHEN_SUBMITTED}, kw=SUB, data={"POST": _version}, states=SUB_STATES
    ),
    "evidence:review_return": Rule(
        {"POST": REVIEW_PAGE_WHEN_SUBMITTED}, kw=SUB, data={"POST": _reason}, states=SUB_STATES
    ),
    "evidence:review_reopen": Rule(
        {"POST": REVIEW_PAGE_WHEN_APPROVED}, kw=SUB, data={"POST": _reason}, states=SUB_STATES
    ),
    "evidence:review_final": Rule(
        {"POST": FINAL_PAGE}, kw=SUB, data={"POST": _final}, states=SUB_STATES
    ),
    "evidence:submission_history": Rule({"GET": OWN_READ}, kw=SUB, states=SUB_STATES),
    "evidence:notifications": Rule({"GET": ANY_USER}),
    "evidence:notification_open": Rule({"POST": RECIPIENT}, kw=NOTE),
    "evidence:notification_read_all": Rule({"POST": ANY_USER}, redirect_ok=True),
    "evidence:notification_settings": Rule({"GET": ANY_USER, "POST": ANY_USER}),
    "evidence:audit_log": Rule({"GET": ADMINS}),
    "evidence:audit_log_export": Rule({"GET": ADMINS}),
    # --- dashboards and scores (scoring) -----------------------------------------------------
    "scoring:dashboard": Rule({"GET": ANY_USER}),
    "scoring:main_index": Rule({"GET": ASSIGNED}, kw=lambda w: {"code": "1"}),
    "scoring:sub_indicator": Rule({"GET": ASSIGNED}, kw=lambda w: {"code": "1.1"}),
    "scoring:whatif": Rule({"GET": PROVINCE}),
    "scoring:national": Rule({"GET": PROVINCE}),
    "scoring:national_import": Rule({"GET": REVIEWERS, "POST": REVIEWERS}),
    "scoring:league": Rule({"GET": ANY_USER}, note="agency staff see their own row only"),
    "scoring:exports": Rule({"GET": ANY_USER}, note="each user's own export jobs"),
    "scoring:export_job": Rule({"GET": JOB_OWNER}, kw=JOB),
    "scoring:export_download": Rule({"GET": JOB_OWNER}, kw=JOB),
    # --- API: periods, submissions, transitions, evidence -------------------------------------
    "api:period-list": Rule(
        {"GET": ANY_USER, "POST": REVIEWERS},
        data={
            "POST": lambda w: {
                "action": "create",
                "framework": w.framework.pk,
                "year": 2026,
                "quarter": 1,
                "deadline": "2026-03-25",
            }
        },
    ),
    "api:period-detail": Rule({"GET": ANY_USER}, kw=PERIOD_PK),
    "api:submission-list": Rule(
        {"GET": ANY_USER, "POST": STAFF_ONLY},
        data={
            "POST": lambda w: {
                "indicator": w.sub.pk,
                "period": w.period.pk,
                "values": {"done": "1"},
            }
        },
    ),
    "api:submission-detail": Rule(
        {"GET": OWN_READ, "PATCH": OWN_WRITE},
        kw=SUB,
        data={"PATCH": lambda w: {"values": {"done": "0"}, "version": w.submission.version}},
        states=SUB_STATES,
    ),
    "api:submission-submit": Rule(
        {"POST": OWN_WRITE}, kw=SUB, data={"POST": _version}, states=SUB_STATES
    ),
    "api:submission-start-review": Rule(
        {"POST": OWN_REVIEW}, kw=SUB, data={"POST": _version}, states=SUB_STATES
    ),
    "api:submission-approve": Rule(
        {"POST": OWN_REVIEW}, kw=SUB, data={"POST": _version}, states=SUB_STATES
    ),
    "api:submission-return": Rule(
        {"POST": OWN_REVIEW}, kw=SUB, data={"POST": _reason}, states=SUB_STATES
    ),
    "api:submission-reopen": Rule(
        {"POST": OWN_REVIEW}, kw=SUB, data={"POST": _reason}, states=SUB_STATES
    ),
    "api:submission-final": Rule(
        {"POST": FINAL_API}, kw=SUB, data={"POST": _final}, states=SUB_STATES
    ),
    "api:submission-history": Rule({"GET": OWN_READ}, kw=SUB, states=SUB_STATES),
    "api:submission-evidence": Rule(
        {"GET": OWN_READ, "POST": OWN_WRITE},
        kw=SUB,
        data={"POST": _upload},
        multipart=True,
        states=SUB_STATES,
    ),
    "api:evidence-download": Rule({"GET": OWN_READ}, kw=EV, states=SUB_STATES),
    # --- API: scores and exports ---------------------------------------------------------------
    "api:scores-summary": Rule({"GET": ANY_USER}, query=_fw_query),
    "api:score-dashboard": Rule({"GET": ANY_USER}, query=_fw_query),
    "api:score-league": Rule({"GET": ANY_USER}, query=_fw_query, note="own row for agencies"),
    "api:score-whatif": Rule(
        {"POST": PROVINCE},
        data={
            "POST": lambda w: {
                "framework": w.framework.code,
                "period": w.period.pk,
                "overrides": {"1.1": {"done": "0"}},
            }
        },
    ),
    "api:score-national": Rule({"GET": PROVINCE}, query=_fw_query),
    "api:export-list": Rule(
        {"GET": ANY_USER, "POST": ANY_USER},
        data={
            "POST": lambda w: {
                "kind": "excel",
                "framework": w.framework.code,
                "period": w.period.pk,
            }
        },
    ),
    "api:export-detail": Rule({"GET": JOB_OWNER}, kw=JOB_API),
    "api:export-download": Rule({"GET": JOB_OWNER}, kw=JOB_API),
    # --- agencies and accounts ---------------------------------------------------------------
    "agencies:agency_list": Rule({"GET": ANY_USER}),
    "agencies:agency_detail": Rule({"GET": ANY_USER}, kw={"pk": "agency_a"}),
    "agencies:accounts_export": Rule({"GET": REVIEWERS}),
    "agencies:account_list": Rule({"GET": REVIEWERS}),
    "agencies:accounts_import": Rule(
        {"GET": REVIEWERS, "POST": REVIEWERS}, note="POST without a file: the form again, 400"
    ),
    "agencies:accounts_import_confirm": Rule(
        {"POST": roles(D, D, D, N, D, N)}, note="needs a previewed file in the caller's session"
    ),
    "agencies:directory_export": Rule({"GET": REVIEWERS}),
    "agencies:directory_import": Rule(
        {"GET": REVIEWERS, "POST": REVIEWERS}, note="POST without a file: the form again, 400"
    ),
    "agencies:directory_import_confirm": Rule(
        {"POST": roles(D, D, D, N, D, N)}, note="needs a previewed file in the caller's session"
    ),
    "api:agency-list": Rule({"GET": ANY_USER}),
    "api:agency-detail": Rule({"GET": ANY_USER}, kw={"pk": "agency_a"}),
    # --- frameworks (indicators) ---------------------------------------------------------------
    "indicators:framework_list": Rule({"GET": ANY_USER}),
    "indicators:my_indicators": Rule({"GET": ANY_USER}),
    "indicators:framework_compare": Rule({"GET": ANY_USER}),
    "indicators:framework_import": Rule({"GET": REVIEWERS, "POST": REVIEWERS}),
    "indicators:framework_import_preview": Rule(
        {"GET": roles(D, D, D, N, D, N), "POST": roles(D, D, D, N, D, N)},
        kw=lambda w: {"token": "no-such-preview"},
        note="a preview token of another user's upload is not found",
    ),
    "indicators:framework_detail": Rule({"GET": ANY_USER}, kw={"pk": "framework"}),
    "indicators:framework_history": Rule({"GET": ANY_USER}, kw={"pk": "framework"}),
    "indicators:framework_export": Rule({"GET": ANY_USER}, kw={"pk": "framework"}),
    "indicators:framework_publish": Rule({"POST": REVIEWERS}, kw={"pk": "draft_framework"}),
    "indicators:framework_archive": Rule({"POST": REVIEWERS}, kw={"pk": "framework"}),
    "indicators:framework_new_version": Rule({"POST": REVIEWERS}, kw={"pk": "framework"}),
    "indicators:framework_assign": Rule(
        {"GET": REVIEWERS, "POST": REVIEWERS},
        kw={"pk": "draft_framework"},
        redirect_ok=True,  # saved: back to the framework (others: 403 or the login page)
    ),
    "indicators:indicator_edit": Rule(
        {"GET": REVIEWERS, "POST": REVIEWERS},
        kw={"pk": "draft_sub"},
        data={"POST": lambda w: {"name": "Tên mới", "max_points": "10"}},
    ),
    "api:framework-list": Rule({"GET": ANY_USER}),
    "api:framework-detail": Rule({"GET": ANY_USER}, kw={"pk": "framework"}),
    "api:framework-import-file": Rule(
        {"POST": REVIEWERS}, data={"POST": _framework_file}, multipart=True
    ),
    "api:framework-publish": Rule({"POST": REVIEWERS}, kw={"pk": "draft_framework"}),
    "evidence:return_contribution": Rule(
        {"POST": roles(D, A, H, D, D, D)},
        kw={"pk": "contribution"},
        data={
            "POST": lambda w: {
                "reason": "Số liệu chưa khớp",
                "reason_code": "so_lieu_khong_khop",
                "version": w.obj("contribution").version,
            }
        },
        note="the lead agency (A) returns agency C's contribution; B cannot even see it",
    ),
    "evidence:period_manage": Rule(
        {"GET": REVIEWERS, "POST": REVIEWERS},
        data={
            "POST": lambda w: {
                "action": "create",
                "framework": w.framework.pk,
                "year": 2026,
                "quarter": 2,
                "deadline": "25/06/2026",
            }
        },
        note="opening, closing and changing reporting periods is the Sở's job",
    ),
}
