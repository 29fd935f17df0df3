"""Reads of the review workflow's audit trail: a submission's history and the admin audit log.

Callers pass objects they already looked up in the user's scope (``selectors.submission_get``);
the audit log is for administrators only (``evidence.view_audit_log``), who see everything.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection
from django.db.models import CharField, F, QuerySet, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agencies.models import Agency, AuditEvent, User
from indicators.models import Measure

from .models import EvidenceFile, ReportingPeriod, Submission, SubmissionTransition
from .services.submissions import measures_of
from .services.transitions import Action, reason_label
from .services.values import display_value, format_points

STATE_LABELS = dict(Submission.State.choices)
# Fields whose change is already told by the transition row itself.
_TRANSITION_FIELDS = {
    "state",
    "version",
    "updated_at",
    "submitted_at",
    "reviewed_at",
    "reviewed_by",
    "updated_by",
    "appraised_points",
    "appraisal_reason",
    "final_points",
    "final_reason",
}
_FIELD_LABELS = {
    "values": gettext_lazy("số liệu"),
    "note": gettext_lazy("giải trình"),
    "consolidation_reason": gettext_lazy("lý do điều chỉnh số liệu tổng hợp"),
    "own_values": gettext_lazy("phần riêng của cơ quan chủ trì"),
    "self_points": gettext_lazy("điểm tự chấm"),
    "is_consolidation": gettext_lazy("báo cáo tổng hợp"),
}


@dataclass
class HistoryEntry:
    kind: str  # "transition" | "change" | "evidence"
    at: datetime.datetime
    actor: str | None
    actor_role: str = ""
    actor_agency: str | None = None
    action: str = ""
    action_label: str = ""
    from_: str = ""
    to: str = ""
    reason_code: str = ""
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    request_id: str = ""
    #: an evidence event's file or link: id, kind, name (the original file name or the URL,
    #: user input: escaped where shown), reused_from ("1.1 · Quý 4/2025" or None)
    evidence: dict[str, Any] | None = None

    @property
    def from_label(self) -> str:
        return str(STATE_LABELS.get(self.from_, self.from_))

    @property
    def to_label(self) -> str:
        return str(STATE_LABELS.get(self.to, self.to))

    @property
    def reason_code_label(self) -> str:
        return reason_label(self.reason_code) if self.reason_code else ""


def _value_changes(
    measures: list[Measure], old: dict[str, Any], new: dict[str, Any], *, field: str = "values"
) -> list[dict[str, Any]]:
    """A change of ``values`` (or of the lead's ``own_values``) as people read it: one entry
    per measure that changed, with its label and its values as the form shows them (86 → 13,
    1.234,5, Có/Không, a level's label); a value of a measure no longer in the indicator under
    its code."""
    known = {m.code for m in measures}
    rows = []
    prefix = f"{_FIELD_LABELS[field]}: " if field != "values" else ""
    for m in measures:
        before, after = old.get(m.code), new.get(m.code)
        if before != after:
            rows.append(
                {
                    "field": field,
                    "measure": m.code,
                    "label": prefix + m.label,
                    "old": display_value(m, before),
                    "new": display_value(m, after),
                }
            )
    for code in sorted((set(old) | set(new)) - known):
        if old.get(code) != new.get(code):
            rows.append(
                {
                    "field": field,
                    "measure": code,
                    "label": prefix + code,
                    "old": str(old.get(code) or "—"),
                    "new": str(new.get(code) or "—"),
                }
            )
    return rows


def _shown(field_name: str, value: Any) -> Any:
    """Another field's value as people read it: points in the reader's format, yes/no."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Có") if value else _("Không")
    if field_name == "self_points":
        try:
            return format_points(Decimal(str(value)))
        except InvalidOperation:
            return str(value)
    return value


def _is_transition_save(reason: str | None) -> bool:
    return bool(reason) and str(reason).split(":", 1)[0] in Action.values


#: The audit actions that attach or remove an item's evidence: each row's ``data["submission"]``
#: names the item. Downloads (reads) and the janitor's orphan files (no item) are not history.
EVIDENCE_ACTIONS = ("evidence.upload", "evidence.link", "evidence.reuse", "evidence.remove")


def _reuse_sources(events: list[AuditEvent]) -> dict[int, str]:
    """The item each reused file came from ("1.1 · Quý 4/2025"), by the original file's id; one
    query, none without a reuse. An original removed since (after its reuse was removed) is
    missing: its event keeps the plain label."""
    ids = {e.data.get("from") for e in events if e.action == "evidence.reuse"} - {None}
    if not ids:
        return {}
    files = EvidenceFile.objects.filter(pk__in=ids).select_related(
        "submission__indicator", "submission__period"
    )
    return {f.pk: f"{f.submission.indicator.code} · {f.submission.period}" for f in files}


def _evidence_entries(submission: Submission) -> list[HistoryEntry]:
    """The item's evidence events, read from the audit rows their services write (one query,
    two with a reuse): who attached, added a link, reused or removed which file, when."""
    # Only the item's own agency's staff change its evidence (``_lock_writable``), and the audit
    # row keeps the actor's agency: filtering on it (indexed) reads that agency's rows only,
    # not every evidence row of the province.
    events = list(
        AuditEvent.objects.filter(
            agency_id=submission.agency_id,
            action__in=EVIDENCE_ACTIONS,
            data__submission=submission.pk,
        )
        .select_related("actor", "agency")
        .order_by("created_at", "id")
    )
    sources = _reuse_sources(events)
    entries = []
    for e in events:
        data = e.data or {}
        link = e.action == "evidence.link"
        name = data.get("url") if link else data.get("name")
        source = sources.get(data.get("from", 0)) if e.action == "evidence.reuse" else None
        label = (
            _("Dùng lại tài liệu kiểm chứng từ %(source)s") % {"source": source}
            if source
            else action_label(e.action)
        )
        entries.append(
            HistoryEntry(
                kind="evidence",
                at=e.created_at,
                actor=str(e.actor) if e.actor else None,
                actor_role=e.actor_role,
                actor_agency=str(e.agency) if e.agency else None,
                action=e.action,
                action_label=label,
                request_id=e.request_id,
                evidence={
                    "id": int(e.object_id) if e.object_id.isdigit() else None,
                    "kind": "link" if link else "file",
                    "name": name or e.object_repr,
                    "reused_from": source,
                },
            )
        )
    return entries


def submission_history(*, submission: Submission) -> list[HistoryEntry]:
    """Every transition (who, when, from, to, why), every other change of the row
    (simple-history: values per measure, explanation...) and every evidence event (attached,
    reused, removed), oldest first. At most five queries, however long the history:
    transitions, history records, the sub-indicator's measures, evidence events, the items
    reused files came from."""
    entries: list[HistoryEntry] = _evidence_entries(submission)
    measures = measures_of(submission.indicator)
    actions = dict(Action.choices)
    for t in SubmissionTransition.objects.filter(submission=submission).select_related(
        "actor", "actor_agency"
    ):
        entries.append(
            HistoryEntry(
                kind="transition",
                at=t.created_at,
                actor=str(t.actor),
                actor_role=t.actor_role,
                actor_agency=str(t.actor_agency) if t.actor_agency else None,
                action=t.action,
                action_label=str(actions.get(t.action, t.action)),
                from_=t.from_state,
                to=t.to_state,
                reason_code=t.reason_code,
                reason=t.reason,
                data=t.data or {},
                request_id=t.request_id,
            )
        )
    records = list(
        submission.history.select_related("history_user").order_by("history_date", "history_id")  # type: ignore[attr-defined]
    )
    previous = None
    for rec in records:
        if rec.history_type == "+":
            entries.append(
                HistoryEntry(
                    kind="change",
                    at=rec.history_date,
                    actor=str(rec.history_user) if rec.history_user else None,
                    action="create",
                    action_label=_("Tạo báo cáo"),
                    to=rec.state,
                )
            )
        elif previous is not None and not _is_transition_save(rec.history_change_reason):
            delta = rec.diff_against(previous, excluded_fields=list(_TRANSITION_FIELDS))
            changes = []
            for c in delta.changes:
                if c.field in ("values", "own_values"):
                    changes += _value_changes(measures, c.old or {}, c.new or {}, field=c.field)
                else:
                    changes.append(
                        {
                            "field": c.field,
                            "label": str(_FIELD_LABELS.get(c.field, c.field)),
                            "old": _shown(c.field, c.old),
                            "new": _shown(c.field, c.new),
                        }
                    )
            if changes:
                entries.append(
                    HistoryEntry(
                        kind="change",
                        at=rec.history_date,
                        actor=str(rec.history_user) if rec.history_user else None,
                        action="change",
                        action_label=_("Sửa báo cáo"),
                        reason=rec.history_change_reason or "",
                        changes=changes,
                    )
                )
        previous = rec
    entries.sort(key=lambda e: (e.at, 0 if e.kind == "change" and e.action == "create" else 1))
    return entries


# --- the admin audit log ----------------------------------------------------------------------

AUDIT_COLUMNS = ("src", "at", "uid", "role", "aid", "act", "oid", "orepr", "det", "rid")


@dataclass
class AuditFilters:
    user: User | None = None
    agency: Agency | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    action: str = ""


def _day_start(day: datetime.date) -> datetime.datetime:
    """Midnight starting ``day`` in the portal's time zone (aware)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _filtered(qs: QuerySet[Any], f: AuditFilters, *, agency_field: str) -> QuerySet[Any]:
    """The audit filters, applied the same way to both sources (actor, agency, dates, action).

    Dates are bounds on ``created_at`` itself (local days), not on its date: the index on
    ``created_at`` serves them."""
    if f.user is not None:
        qs = qs.filter(actor=f.user)
    if f.agency is not None:
        qs = qs.filter(**{agency_field: f.agency})
    if f.date_from:
        qs = qs.filter(created_at__gte=_day_start(f.date_from))
    if f.date_to:
        qs = qs.filter(created_at__lt=_day_start(f.date_to + datetime.timedelta(days=1)))
    if f.action:
        qs = qs.filter(action=f.action)
    return qs


def _transitions(f: AuditFilters) -> QuerySet[Any]:
    qs = _filtered(SubmissionTransition.objects.order_by(), f, agency_field="submission__agency")
    return qs.values(
        src=Value("transition", output_field=CharField()),
        at=F("created_at"),
        uid=F("actor_id"),
        role=F("actor_role"),
        aid=F("submission__agency_id"),
        act=F("action"),
        oid=Cast("submission_id", output_field=CharField()),
        orepr=F("to_state"),
        det=F("reason"),
        rid=F("request_id"),
        row=F("id"),
    )


def _events(f: AuditFilters) -> QuerySet[Any]:
    qs = _filtered(AuditEvent.objects.order_by(), f, agency_field="agency")
    return qs.values(
        src=Value("event", output_field=CharField()),
        at=F("created_at"),
        uid=F("actor_id"),
        role=F("actor_role"),
        aid=F("agency_id"),
        act=F("action"),
        oid=F("object_id"),
        orepr=F("object_repr"),
        det=F("object_type"),
        rid=F("request_id"),
        row=F("id"),
    )


# Newest first; ties (one request's rows) in a fixed order, so that pages never overlap.
_ORDER = ("-at", "src", "-row")
_BRANCH_ORDER = ("-created_at", "-id")


def audit_log(*, filters: AuditFilters) -> QuerySet[Any]:
    """Transitions and AuditEvents as one list of dicts (keys ``AUDIT_COLUMNS``), newest first."""
    return _transitions(filters).union(_events(filters), all=True).order_by(*_ORDER)


class AuditLogPages:
    """``audit_log`` for a paginator: the count is the two sources' counts, and a page reads only
    the newest ``offset + limit`` rows of each source (by their ``created_at`` index) instead of
    sorting the whole union, so a page costs the same at any size of the log."""

    def __init__(self, filters: AuditFilters) -> None:
        self.filters = filters

    def count(self) -> int:
        return _transitions(self.filters).count() + _events(self.filters).count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key: slice) -> list[dict[str, Any]]:
        if not isinstance(key, slice) or key.start is None or key.stop is None:
            raise TypeError("AuditLogPages only serves slices with bounds")
        if key.stop <= key.start:
            return []  # an empty log's page
        if not connection.features.supports_slicing_ordering_in_compound:
            return list(audit_log(filters=self.filters)[key])  # SQLite: the union as is
        top = key.stop
        newest = (
            _transitions(self.filters)
            .order_by(*_BRANCH_ORDER)[:top]
            .union(_events(self.filters).order_by(*_BRANCH_ORDER)[:top], all=True)
        )
        return list(newest.order_by(*_ORDER)[key])


# What the AuditEvent action codes mean, for people (the codes stay in the data and exports).
EVENT_LABELS: dict[str, Any] = {
    "accounts.export": gettext_lazy("Xuất danh sách tài khoản"),
    "audit_export": gettext_lazy("Xuất nhật ký thao tác"),
    "agency.alias_add": gettext_lazy("Thêm tên gọi khác của cơ quan"),
    "agency.create": gettext_lazy("Tạo cơ quan"),
    "agency.directory_import": gettext_lazy("Nạp danh mục cơ quan"),
    "agency_group.create": gettext_lazy("Tạo nhóm cơ quan"),
    "agency_group.delete": gettext_lazy("Xóa nhóm cơ quan"),
    "agency_group.update": gettext_lazy("Sửa nhóm cơ quan"),
    "crosswalk.create": gettext_lazy("Tạo bảng đối chiếu mã"),
    "crosswalk.delete": gettext_lazy("Xóa dòng đối chiếu mã"),
    "evidence.download": gettext_lazy("Tải tài liệu kiểm chứng"),
    "evidence.link": gettext_lazy("Thêm đường dẫn minh chứng"),
    "evidence.orphans_removed": gettext_lazy("Dọn tệp không còn thuộc báo cáo nào"),
    "evidence.remove": gettext_lazy("Xóa tài liệu kiểm chứng"),
    "evidence.reuse": gettext_lazy("Dùng lại tài liệu kiểm chứng"),
    "evidence.upload": gettext_lazy("Tải lên tài liệu kiểm chứng"),
    "export.downloaded": gettext_lazy("Tải tệp xuất"),
    "export.expired": gettext_lazy("Xóa tệp xuất đã hết hạn lưu"),
    "export.requested": gettext_lazy("Yêu cầu xuất dữ liệu"),
    "framework.archive": gettext_lazy("Lưu trữ bộ chỉ số"),
    "group.create": gettext_lazy("Tạo nhóm quyền quản trị"),
    "group.delete": gettext_lazy("Xóa nhóm quyền quản trị"),
    "group.update": gettext_lazy("Sửa nhóm quyền quản trị"),
    "framework.export": gettext_lazy("Xuất bộ chỉ số"),
    "framework.import": gettext_lazy("Nhập bộ chỉ số"),
    "framework.new_version": gettext_lazy("Tạo phiên bản mới của bộ chỉ số"),
    "framework.publish": gettext_lazy("Ban hành bộ chỉ số"),
    "indicator.update": gettext_lazy("Sửa chỉ số"),
    "national_results.import": gettext_lazy("Nhập kết quả công bố toàn quốc"),
    "period.close": gettext_lazy("Khóa kỳ báo cáo"),
    "period.create": gettext_lazy("Tạo kỳ báo cáo"),
    "period.extend": gettext_lazy("Đổi hạn kỳ báo cáo"),
    "period.item_extension": gettext_lazy("Mở lại chỉ số cho cơ quan"),
    "period.open": gettext_lazy("Mở kỳ báo cáo"),
    "submission.rescored": gettext_lazy("Tính lại điểm tự chấm theo quy tắc đã sửa"),
    "user.backup_code_used": gettext_lazy("Đăng nhập bằng mã dự phòng"),
    "user.backup_codes_regenerate": gettext_lazy("Tạo lại mã dự phòng xác thực hai lớp"),
    "user.create": gettext_lazy("Tạo tài khoản"),
    "user.deactivate": gettext_lazy("Khóa tài khoản"),
    "user.mfa_enrol": gettext_lazy("Bật xác thực hai lớp"),
    "user.mfa_reset": gettext_lazy("Đặt lại xác thực hai lớp"),
    "user.move_agency": gettext_lazy("Chuyển cơ quan của tài khoản"),
    "user.password_change": gettext_lazy("Đổi mật khẩu"),
    "user.password_set": gettext_lazy("Đặt mật khẩu cho tài khoản"),
    "user.privileges_change": gettext_lazy("Đổi quyền quản trị của tài khoản"),
    "user.role_change": gettext_lazy("Đổi vai trò của tài khoản"),
    "user.sessions_ended": gettext_lazy("Kết thúc phiên đăng nhập"),
    "user.import_create": gettext_lazy("Tạo tài khoản (nhập hàng loạt)"),
    "user.import_update": gettext_lazy("Cập nhật tài khoản (nhập hàng loạt)"),
}


def action_label(code: str) -> str:
    """A transition's or an event's action in words; an unknown code as is."""
    label = dict(Action.choices).get(code) or EVENT_LABELS.get(code)
    return str(label) if label else code


def object_type_label(object_type: str) -> str:
    """ "indicators.framework" → the model's verbose name ("Bộ chỉ số"); unknown: as is.

    Rows written before every app recorded ``app_label.model`` hold a bare model name
    ("reportingperiod", "export_job", "framework"): those are matched by model name alone.
    """
    from django.apps import apps
    from django.db.models import Model
    from django.utils.text import capfirst

    model: type[Model] | None
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        name = object_type.replace("_", "").lower()
        model = next((m for m in apps.get_models() if m._meta.model_name == name), None)
    return str(capfirst(model._meta.verbose_name)) if model is not None else object_type


def audit_actions() -> list[str]:
    """The action names present in either log (for the filter)."""
    # order_by(): the models' default ordering would make DISTINCT run over (action, created_at,
    # id), i.e. every row of both logs.
    a = set(SubmissionTransition.objects.order_by().values_list("action", flat=True).distinct())
    b = set(AuditEvent.objects.order_by().values_list("action", flat=True).distinct())
    return sorted(a | b)


@dataclass
class AuditRow:
    source: str
    at: datetime.datetime
    actor: str
    actor_role: str
    agency: str
    action: str
    action_label: str
    object: str
    detail: str
    request_id: str


class AuditNames:
    """What audit rows show instead of ids and codes, each looked up once: for one page, or
    across the batches of a whole export (a batch reads only the ids it has not seen yet)."""

    def __init__(self) -> None:
        self.users: dict[int, str] = {}
        self.agencies: dict[int, str] = {}
        self.items: dict[int, str] = {}  # submission id → "1.1 · Quý 1/2025"
        self.periods: dict[int, str] = {}
        self.labels: dict[tuple[str, str], str] = {}  # (what, code) → words, active language
        self.roles = {k: str(v) for k, v in User.Role.choices}

    def load(self, rows: list[tuple[Any, ...]]) -> None:
        """Reads the names of ``rows`` not known yet: at most four queries."""
        user_ids = {r[2] for r in rows if r[2]} - self.users.keys()
        agency_ids = {r[4] for r in rows if r[4]} - self.agencies.keys()
        sub_ids = {int(r[6]) for r in rows if r[0] == "transition" and r[6]} - self.items.keys()
        if user_ids:
            users = User.objects.filter(pk__in=user_ids).only("full_name", "username")
            self.users.update((u.pk, str(u)) for u in users)
        if agency_ids:
            agencies = Agency.objects.filter(pk__in=agency_ids).only("name")
            self.agencies.update((a.pk, str(a)) for a in agencies)
        if sub_ids:
            subs = list(
                Submission.objects.filter(pk__in=sub_ids).values_list(
                    "id", "indicator__code", "period_id"
                )
            )
            period_ids = {period_id for _id, _code, period_id in subs} - self.periods.keys()
            if period_ids:
                periods = ReportingPeriod.objects.filter(pk__in=period_ids)
                self.periods.update((p.pk, str(p)) for p in periods)
            self.items.update((pk, f"{code} · {self.periods[pid]}") for pk, code, pid in subs)

    def label(self, what: str, code: str) -> str:
        key = (what, code)
        if key not in self.labels:
            if what == "action":
                self.labels[key] = action_label(code)
            elif what == "object_type":
                self.labels[key] = object_type_label(code)
            else:  # a transition's new state
                self.labels[key] = _("→ %(state)s") % {"state": STATE_LABELS.get(code, code)}
        return self.labels[key]


def audit_rows(page: list[dict[str, Any]], names: AuditNames | None = None) -> list[AuditRow]:
    """Resolves the names of one page of ``audit_log`` rows (four queries, whatever the size);
    an export passes one ``names`` for all its batches."""
    names = names or AuditNames()
    rows = [tuple(d[c] for c in AUDIT_COLUMNS) for d in page]
    names.load(rows)
    out = []
    for source, at, actor_id, role, agency_id, action, obj_id, obj_repr, detail, rid in rows:
        if source == "transition":
            obj = names.items.get(int(obj_id), str(obj_id)) if obj_id else str(obj_id)
            detail = names.label("state", obj_repr) + (f" — {detail}" if detail else "")
        else:
            obj = obj_repr or str(obj_id or "")
            detail = names.label("object_type", detail) if detail else ""
        out.append(
            AuditRow(
                source=source,
                at=at,
                actor=names.users.get(actor_id, "—"),
                actor_role=names.roles.get(role, role or ""),
                agency=names.agencies.get(agency_id, ""),
                action=action,
                action_label=names.label("action", action),
                object=obj,
                detail=detail or "",
                request_id=rid or "",
            )
        )
    return out
