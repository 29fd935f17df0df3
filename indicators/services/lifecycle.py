"""Framework lifecycle: draft → published (only when the points add up) → archived.

A published framework is immutable: ``indicator_update`` refuses it (Conflict), and an "edit"
makes a new draft version (``framework_new_version``) that copies the tree, the measures, the
rules and the assignments, and records an identity crosswalk from the old codes.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from agencies.models import Agency, AgencyGroup, User, nfc_text_fields
from agencies.services import audit, audit_diff
from dti_portal.errors import Conflict, NotAllowed, ValidationFailed

from .. import scoring_rules
from ..importer.validate import format_points
from ..models import Crosswalk, Framework, Indicator, Measure


def _require_manager(actor: User) -> None:
    if not (actor.is_authenticated and actor.is_reviewer):
        raise NotAllowed(_("Chỉ Sở KH&CN hoặc quản trị viên được quản lý bộ chỉ số."))


def _locked(framework: Framework) -> Framework:
    return Framework.objects.select_for_update().get(pk=framework.pk)


def framework_problems(framework: Framework) -> list[str]:
    """Why the framework cannot be published: points that do not add up, invalid rules."""
    nodes = list(
        Indicator.objects.filter(framework=framework)
        .prefetch_related("measures")
        .order_by("sort_key")
    )
    problems: list[str] = []
    kids: dict[int | None, list[Indicator]] = defaultdict(list)
    for n in nodes:
        kids[n.parent_id].append(n)
    if not any(n.level == Indicator.Level.MAIN for n in nodes):
        problems.append(_("Bộ chỉ số chưa có chỉ số chính nào."))
    for n in nodes:
        children = kids.get(n.pk, [])
        if children:
            total = sum((c.max_points for c in children), Decimal(0))
            if total != n.max_points:
                problems.append(
                    _("Tổng điểm các chỉ số con của %(code)s là %(sum)s, khác %(max)s.")
                    % {
                        "code": n.code,
                        "sum": format_points(total),
                        "max": format_points(n.max_points),
                    }
                )
        if n.level == Indicator.Level.SUB:
            codes = {m.code: m.kind for m in n.measures.all()}
            for msg in scoring_rules.validate_rule(n.scoring_rule or {}, codes, n.max_points):
                problems.append(
                    _("Quy tắc tính điểm của %(code)s: %(msg)s") % {"code": n.code, "msg": msg}
                )
    top = sum((n.max_points for n in kids.get(None, [])), Decimal(0))
    if top != framework.total_points:
        problems.append(
            _("Tổng điểm các chỉ số chính là %(sum)s, khác tổng điểm %(total)s của bộ chỉ số.")
            % {"sum": format_points(top), "total": format_points(framework.total_points)}
        )
    return problems


@transaction.atomic
def framework_publish(*, actor: User, framework: Framework, request_id: str = "") -> Framework:
    """Publishes a draft whose points add up and whose rules are valid; archives the version it
    replaces (if that one was published)."""
    _require_manager(actor)
    fw = _locked(framework)
    if fw.status != Framework.Status.DRAFT:
        raise Conflict(_("Chỉ ban hành được bộ chỉ số đang ở trạng thái nháp."))
    problems = framework_problems(fw)
    if problems:
        raise ValidationFailed(_("Chưa ban hành được bộ chỉ số."), errors={"framework": problems})
    fw.publish()
    fw.published_at = timezone.now()
    fw.save()
    audit(actor=actor, action="framework.publish", obj=fw, request_id=request_id)
    prev = fw.previous_version
    if prev is not None and prev.status == Framework.Status.PUBLISHED:
        framework_archive(actor=actor, framework=prev, request_id=request_id)
    return fw


@transaction.atomic
def framework_archive(*, actor: User, framework: Framework, request_id: str = "") -> Framework:
    _require_manager(actor)
    fw = _locked(framework)
    if fw.status != Framework.Status.PUBLISHED:
        raise Conflict(_("Chỉ lưu trữ được bộ chỉ số đã ban hành."))
    fw.archive()
    fw.save()
    audit(actor=actor, action="framework.archive", obj=fw, request_id=request_id)
    return fw


def _next_code(base: str) -> str:
    n = 2
    stem = base.rsplit("-v", 1)[0] if "-v" in base and base.rsplit("-v", 1)[1].isdigit() else base
    while Framework.objects.filter(code=f"{stem}-v{n}").exists():
        n += 1
    return f"{stem}-v{n}"


@transaction.atomic
def framework_new_version(
    *,
    actor: User,
    framework: Framework,
    code: str = "",
    name: str = "",
    request_id: str = "",
) -> Framework:
    """A new draft copying ``framework`` (tree, measures, rules, assignments) with an identity
    crosswalk from every old code to the same new code."""
    _require_manager(actor)
    code = code or _next_code(framework.code)
    if Framework.objects.filter(code=code).exists():
        raise ValidationFailed(errors={"code": [_("Mã bộ chỉ số “%(c)s” đã có.") % {"c": code}]})
    new = Framework.objects.create(
        code=code,
        name=name or framework.name,
        year=framework.year,
        decision=framework.decision,
        unit_type=framework.unit_type,
        total_points=framework.total_points,
        previous_version=framework,
        source_file_name=framework.source_file_name,
        created_by=actor,
    )
    old_nodes = list(
        Indicator.objects.filter(framework=framework)
        .prefetch_related("measures", "coordinating_agencies", "coordinating_groups")
        .order_by("sort_key")
    )
    copies: dict[int, Indicator] = {}
    measures = []
    ta = Indicator.coordinating_agencies.through
    tg = Indicator.coordinating_groups.through
    links_a, links_g = [], []
    for level in ("group", "main", "sub", "criterion"):
        batch = [o for o in old_nodes if o.level == level]
        objs = [
            Indicator(
                framework=new,
                parent=copies.get(old.parent_id) if old.parent_id else None,
                level=old.level,
                code=old.code,
                sort_key=old.sort_key,
                name=old.name,
                max_points=old.max_points,
                scoring_method=old.scoring_method,
                evidence_guidance=old.evidence_guidance,
                is_ministry_measured=old.is_ministry_measured,
                scoring_rule=old.scoring_rule,
                lead_agency_id=old.lead_agency_id,
            )
            for old in batch
        ]
        saved = bulk_create_with_history(objs, Indicator, batch_size=500, default_user=actor)
        for old, copy in zip(batch, saved, strict=True):
            copies[old.pk] = copy
            links_a += [
                ta(indicator_id=copy.pk, agency_id=a.pk) for a in old.coordinating_agencies.all()
            ]
            links_g += [
                tg(indicator_id=copy.pk, agencygroup_id=g.pk) for g in old.coordinating_groups.all()
            ]
            for m in old.measures.all():
                measures.append(
                    Measure(
                        indicator=copy,
                        code=m.code,
                        label=m.label,
                        kind=m.kind,
                        unit=m.unit,
                        required=m.required,
                        choices=m.choices,
                        position=m.position,
                    )
                )
    ta.objects.bulk_create(links_a)
    tg.objects.bulk_create(links_g)
    now = timezone.now()
    for m in measures:
        m.created_at = m.updated_at = now
    Measure.objects.bulk_create(measures)
    Crosswalk.objects.bulk_create(
        [
            Crosswalk(
                source=framework,
                target=new,
                source_code=o.code,
                target_code=o.code,
                note=_("Giữ nguyên mã"),
                created_at=now,
                updated_at=now,
            )
            for o in old_nodes
        ]
    )
    audit(
        actor=actor,
        action="framework.new_version",
        obj=new,
        data={"from": framework.pk},
        request_id=request_id,
    )
    return new


EDITABLE_FIELDS = {
    "name",
    "max_points",
    "scoring_method",
    "evidence_guidance",
    "is_ministry_measured",
    "scoring_rule",
    "lead_agency",
}


def measure_rows(
    *, indicator: Indicator, definitions: list[dict[str, Any]], now: datetime.datetime
) -> list[Measure]:
    """Unsaved Measure rows from a sub-indicator's validated measure definitions, in their order
    (``required`` defaults to true; no unit, no choices: empty). ``now`` stamps them, as
    ``bulk_create`` does not; ``bulk_create`` does not put the text in NFC either."""
    rows = [
        Measure(
            indicator=indicator,
            code=m["code"],
            label=m["label"],
            kind=m["kind"],
            unit=m.get("unit") or "",
            required=bool(m.get("required", True)),
            choices=m.get("choices") or [],
            position=pos,
            created_at=now,
            updated_at=now,
        )
        for pos, m in enumerate(definitions)
    ]
    for row in rows:
        nfc_text_fields(row)
    return rows


@transaction.atomic
def indicator_update(
    *,
    actor: User,
    indicator: Indicator,
    changes: dict[str, Any],
    coordinating_agencies: list[Agency] | None = None,
    coordinating_groups: list[AgencyGroup] | None = None,
    measures: list[dict[str, Any]] | None = None,
    seen_updated_at: datetime.datetime | None = None,
    request_id: str = "",
) -> Indicator:
    """Edits a node of a **draft** framework; a published or archived one answers Conflict
    (make a new version with ``framework_new_version``). ``measures`` (sub-indicators only)
    replaces the measures; the rule is checked against the resulting measures.
    ``seen_updated_at``: the node's ``updated_at`` when the editor loaded it; a node changed
    since (another editor, the assignment page) answers Conflict, nothing merged."""
    _require_manager(actor)
    fw = _locked(indicator.framework)
    if fw.status != Framework.Status.DRAFT:
        raise Conflict(
            _(
                "Bộ chỉ số đã ban hành thì không sửa được; hãy tạo phiên bản mới (bản nháp) để "
                "chỉnh sửa."
            )
        )
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationFailed(errors={f: [_("Không sửa được trường này.")] for f in unknown})
    ind = Indicator.objects.select_for_update().get(pk=indicator.pk)
    if seen_updated_at is not None and seen_updated_at != ind.updated_at:
        raise Conflict(
            _(
                "Chỉ số %(code)s đã được người khác sửa (lúc %(time)s) trong lúc bạn sửa. Hãy "
                "tải lại trang để xem bản mới rồi sửa lại."
            )
            % {
                "code": ind.code,
                "time": timezone.localtime(ind.updated_at).strftime("%H:%M:%S %d/%m/%Y"),
            },
            code="stale_version",
        )
    before = indicator_audit_state(ind, changes)
    for key, value in changes.items():
        setattr(ind, key, value)
    if measures is not None:
        _check_measures(measures)
    if ind.level == Indicator.Level.SUB and (
        "scoring_rule" in changes or "max_points" in changes or measures is not None
    ):
        if measures is not None:
            codes = {m["code"]: m["kind"] for m in measures}
        else:
            codes = dict(ind.measures.values_list("code", "kind"))
        errors = scoring_rules.validate_rule(ind.scoring_rule or {}, codes, ind.max_points)
        if errors:
            raise ValidationFailed(errors={"scoring_rule": errors})
    ind.save()
    if measures is not None and ind.level == Indicator.Level.SUB:
        ind.measures.all().delete()
        Measure.objects.bulk_create(
            measure_rows(indicator=ind, definitions=measures, now=timezone.now())
        )
    if coordinating_agencies is not None:
        ind.coordinating_agencies.set(coordinating_agencies)
    if coordinating_groups is not None:
        ind.coordinating_groups.set(coordinating_groups)
    audit(
        actor=actor,
        action="indicator.update",
        obj=ind,
        data=audit_diff(before, indicator_audit_state(ind, changes)),
        request_id=request_id,
    )
    return ind


def _plain(value: Any) -> Any:
    """A field's value as the audit log stores it (JSON): a row as its id, a decimal as text
    without trailing zeros (10.00 and 10 are one value)."""
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def indicator_audit_state(ind: Indicator, fields: Iterable[str]) -> dict[str, Any]:
    """What an edit of ``ind`` is audited as (the edit page's and the admin's): the edited
    fields, its coordinators and its measures (which keep no history of their own)."""
    return {
        **{f: _plain(getattr(ind, f)) for f in fields},
        "coordinating_agencies": sorted(ind.coordinating_agencies.values_list("pk", flat=True)),
        "coordinating_groups": sorted(ind.coordinating_groups.values_list("pk", flat=True)),
        "measures": [list(m) for m in ind.measures.values_list("code", "kind")],
    }


@dataclass(frozen=True)
class Assignment:
    """Who answers for one sub-indicator: its lead agency and its coordinating agencies/groups."""

    indicator_id: int
    lead_agency: Agency | None
    coordinating_agencies: list[Agency]
    coordinating_groups: list[AgencyGroup]


@transaction.atomic
def framework_assign(
    *,
    actor: User,
    framework: Framework,
    assignments: Sequence[Assignment],
    request_id: str = "",
) -> list[str]:
    """Sets the lead and coordinating agencies of many sub-indicators of a **draft** at once
    (an appendix without agency columns leaves ~50 to assign). Returns the codes that changed;
    one audit entry lists them. A published framework answers Conflict, like ``indicator_update``."""
    _require_manager(actor)
    fw = _locked(framework)
    if fw.status != Framework.Status.DRAFT:
        raise Conflict(
            _(
                "Bộ chỉ số đã ban hành thì không sửa được; hãy tạo phiên bản mới (bản nháp) để "
                "chỉnh sửa."
            )
        )
    wanted = {a.indicator_id: a for a in assignments}
    subs = (
        Indicator.objects.select_for_update()
        .filter(framework=fw, level=Indicator.Level.SUB, pk__in=wanted)
        .order_by("sort_key")
    )
    current = {
        ind.pk: ind
        for ind in Indicator.objects.filter(pk__in=wanted).prefetch_related(
            "coordinating_agencies", "coordinating_groups"
        )
    }
    changed: list[str] = []
    changes: dict[str, dict[str, Any]] = {}
    for ind in subs:
        a, before = wanted[ind.pk], current[ind.pk]
        new_lead = a.lead_agency.pk if a.lead_agency else None
        agencies = {x.pk for x in a.coordinating_agencies if x.pk != new_lead}
        groups = {g.pk for g in a.coordinating_groups}
        diff = audit_diff(
            {
                "lead_agency": ind.lead_agency_id,
                "coordinating_agencies": sorted(x.pk for x in before.coordinating_agencies.all()),
                "coordinating_groups": sorted(g.pk for g in before.coordinating_groups.all()),
            },
            {
                "lead_agency": new_lead,
                "coordinating_agencies": sorted(agencies),
                "coordinating_groups": sorted(groups),
            },
        )
        if not diff:
            continue
        changes[ind.code] = diff
        if ind.lead_agency_id != new_lead:
            ind.lead_agency_id = new_lead
            ind.save()
        else:
            # A change of coordinators is a change of the node: an edit page opened before it
            # is stale (``indicator_update``'s ``seen_updated_at``).
            Indicator.objects.filter(pk=ind.pk).update(updated_at=timezone.now())
        ind.coordinating_agencies.set(agencies)
        ind.coordinating_groups.set(groups)
        changed.append(ind.code)
    if changed:
        audit(
            actor=actor,
            action="framework.assign",
            obj=fw,
            data={"codes": changed, "changes": changes},
            request_id=request_id,
        )
    return changed


def _check_measures(measures: list[dict[str, Any]]) -> None:
    errors: list[str] = []
    seen: set[str] = set()
    for i, m in enumerate(measures, start=1):
        if not isinstance(m, dict):
            errors.append(_("Số liệu thứ %(i)s không hợp lệ.") % {"i": i})
            continue
        code = str(m.get("code") or "")
        if not code or not code.replace("_", "").replace("-", "").isalnum():
            errors.append(_("Số liệu thứ %(i)s: mã không hợp lệ.") % {"i": i})
        elif code in seen:
            errors.append(_("Số liệu thứ %(i)s: mã “%(c)s” bị trùng.") % {"i": i, "c": code})
        seen.add(code)
        if not m.get("label"):
            errors.append(_("Số liệu thứ %(i)s: thiếu nhãn.") % {"i": i})
        if m.get("kind") not in Measure.Kind.values:
            errors.append(_("Số liệu thứ %(i)s: kiểu không hợp lệ.") % {"i": i})
    if errors:
        raise ValidationFailed(errors={"measures": errors})


@transaction.atomic
def crosswalk_create(
    *,
    actor: User,
    source: Framework,
    target: Framework,
    pairs: list[tuple[str, str]],
    note: str = "",
    request_id: str = "",
) -> list[Crosswalk]:
    """Maps codes of ``source`` to codes of ``target`` (both must exist); idempotent per pair."""
    _require_manager(actor)
    if source.pk == target.pk:
        raise ValidationFailed(errors={"target": [_("Hãy chọn hai phiên bản khác nhau.")]})
    src_codes = set(Indicator.objects.filter(framework=source).values_list("code", flat=True))
    tgt_codes = set(Indicator.objects.filter(framework=target).values_list("code", flat=True))
    errors = []
    for s, t in pairs:
        if s not in src_codes:
            errors.append(_("Mã %(c)s không có trong %(f)s.") % {"c": s, "f": source.code})
        if t not in tgt_codes:
            errors.append(_("Mã %(c)s không có trong %(f)s.") % {"c": t, "f": target.code})
    if not pairs:
        errors.append(_("Chưa có cặp mã nào."))
    if errors:
        raise ValidationFailed(errors={"pairs": errors})
    rows = []
    for s, t in pairs:
        row, _created = Crosswalk.objects.get_or_create(
            source=source, target=target, source_code=s, target_code=t, defaults={"note": note}
        )
        rows.append(row)
    audit(
        actor=actor,
        action="crosswalk.create",
        obj=target,
        data={"source": source.pk, "pairs": pairs},
        request_id=request_id,
    )
    return rows


@transaction.atomic
def crosswalk_delete(*, actor: User, crosswalks: Iterable[Crosswalk], request_id: str = "") -> int:
    """Deletes wrong crosswalk rows (the admin's delete): one audit entry per pair of versions,
    with the code pairs removed, since trends across the versions change with them."""
    _require_manager(actor)
    rows_all = list(crosswalks)
    by_versions: dict[tuple[int, int], list[Crosswalk]] = defaultdict(list)
    for row in rows_all:
        by_versions[(row.source_id, row.target_id)].append(row)
    for (source_id, _target_id), rows in by_versions.items():
        audit(
            actor=actor,
            action="crosswalk.delete",
            obj=rows[0].target,
            data={"source": source_id, "pairs": [[r.source_code, r.target_code] for r in rows]},
            request_id=request_id,
        )
    return Crosswalk.objects.filter(pk__in=[r.pk for r in rows_all]).delete()[0]
