"""What-if: hypothetical values for some sub-indicators → the projected score. Nothing is saved.

The projection starts from the stored snapshot of the chosen kind: unchanged sub-indicators keep
their computed points; each changed one is re-evaluated with the scoring engine's own rule function
(``indicators.scoring_rules.evaluate_rule``) on its snapshot values overlaid with the hypothetical
ones. Main-index points are the sums of their sub-indicators, values points ÷ max, DTI total ÷ 1000,
exactly as the recompute does, so the projection equals a recompute with those values.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from dti_portal.errors import NotAllowed, ValidationFailed
from evidence.models import ReportingPeriod
from evidence.services.values import NUMERIC_KINDS, NumberError, decimal_to_str, parse_number
from indicators.models import Framework, Measure

from ..models import ScoreKind, ScoreSnapshot
from . import selectors as sel

Q12 = Decimal("1e-12")


def _clean_value(measure: Measure, raw: Any, stored: Any = None) -> str | None:
    """The stored form of a hypothetical value (as ``Submission.values`` keeps it).

    Numbers are read by ``evidence.services.values.parse_number``, the portal's one number
    reader (Vietnamese ``1.500`` = 1500, ``80,5``; no exponent; bounded digits), and must not be
    negative. A value posted back exactly as the snapshot stores it is that stored value (an API
    client echoing the stored text, such as ``1.234`` meaning one and 234 thousandths, which
    the Vietnamese rule alone would read as 1234); the page pre-fills its inputs in the
    reader's format (``evidence.services.values.form_values``), which reads back the same.
    """
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    text = str(raw).strip()
    if measure.kind in NUMERIC_KINDS:
        if stored is not None and isinstance(raw, str) and text == str(stored):
            return str(stored)
        try:
            value = parse_number(raw)
        except NumberError as exc:
            message = (
                _("“%(v)s” không phải là số.") % {"v": text}
                if exc.reason == NumberError.INVALID
                else exc.message(measure.label)
            )
            raise ValidationFailed(
                _("Giá trị không hợp lệ."), errors={measure.code: [message]}
            ) from exc
        if value < 0:
            raise ValidationFailed(
                _("Giá trị không hợp lệ."),
                errors={measure.code: [_("Giá trị phải là số không âm.")]},
            )
        return decimal_to_str(value)
    if measure.kind == Measure.Kind.BOOLEAN:
        if text.lower() in ("1", "true", "có", "co", "yes"):
            return "1"
        if text.lower() in ("0", "false", "không", "khong", "no"):
            return "0"
        raise ValidationFailed(
            _("Giá trị không hợp lệ."), errors={measure.code: [_("Chọn Có hoặc Không.")]}
        )
    if measure.kind == Measure.Kind.LEVEL:
        keys = [str(c.get("key")) for c in (measure.choices or []) if isinstance(c, Mapping)]
        if keys and text not in keys:
            raise ValidationFailed(
                _("Giá trị không hợp lệ."), errors={measure.code: [_("Mức không hợp lệ.")]}
            )
        return text
    return text


def project(
    *,
    user: Any,
    framework: Framework,
    period: ReportingPeriod,
    overrides: Mapping[str, Mapping[str, Any]],
    kind: str = ScoreKind.SELF_ASSESSED,
) -> dict[str, Any]:
    """The projected total, main-index values and national rank with ``overrides`` applied.

    ``overrides`` maps sub-indicator codes to ``{measure code: value}``. Province users only.
    Reads only: nothing is written.
    """
    with localcontext() as ctx:
        ctx.prec = 40  # the engine's precision: sums of full-precision points stay exact
        return _project(
            user=user, framework=framework, period=period, overrides=overrides, kind=kind
        )


def _project(
    *,
    user: Any,
    framework: Framework,
    period: ReportingPeriod,
    overrides: Mapping[str, Mapping[str, Any]],
    kind: str,
) -> dict[str, Any]:
    from indicators.scoring_rules import evaluate_rule

    if not getattr(user, "sees_province", False):
        raise NotAllowed(_("Chỉ lãnh đạo và Sở KH&CN dùng được chức năng giả định."))
    if kind not in ScoreKind.values:
        raise ValidationFailed(_("Loại điểm không hợp lệ."), errors={"kind": [_("Không hợp lệ.")]})
    mains, sub_infos = sel.load_tree(framework)
    by_code = {i.code: i.indicator for i in sub_infos}
    unknown = sorted(set(overrides) - set(by_code))
    if unknown:
        raise ValidationFailed(
            _("Không có chỉ số thành phần: %(codes)s.") % {"codes": ", ".join(unknown)},
            errors={"overrides": [_("Mã chỉ số không tồn tại: %s") % ", ".join(unknown)]},
        )
    measures: dict[int, dict[str, Measure]] = {}
    for ms in Measure.objects.filter(
        indicator__framework=framework, indicator__code__in=list(overrides)
    ):
        measures.setdefault(ms.indicator_id, {})[ms.code] = ms
    snap = ScoreSnapshot.objects.filter(framework=framework, period=period, kind=kind).first()
    lineage = (snap.lineage if snap else None) or {}
    mains_by_id = {m.pk: m for m in mains}
    main_points: dict[str, Decimal] = {m.code: sel.ZERO for m in mains}
    changed = []
    for info in sub_infos:
        ind = info.indicator
        entry = lineage.get(ind.code) or {}
        base_points = sel.dec(entry.get("points")) or sel.ZERO
        points = base_points
        if ind.code in overrides:
            known = measures.get(ind.pk, {})
            values: dict[str, Any] = dict(entry.get("values") or {})
            for mcode, raw in (overrides[ind.code] or {}).items():
                if mcode not in known:
                    raise ValidationFailed(
                        _("Chỉ số %(code)s không có số liệu “%(m)s”.")
                        % {"code": ind.code, "m": mcode},
                        errors={"overrides": [_("Số liệu không tồn tại: %s") % mcode]},
                    )
                values[mcode] = _clean_value(known[mcode], raw, values.get(mcode))
            rule = entry.get("rule") or ind.scoring_rule or {}
            result = evaluate_rule(
                rule, values, ind.max_points, {c: m.kind for c, m in known.items()}
            )
            points = result.points
            changed.append(
                {
                    "code": ind.code,
                    "name": ind.name,
                    "max_points": ind.max_points,
                    "points_before": base_points,
                    "points_after": points,
                    "explanation": result.explanation_text(),
                    "warnings": result.warning_texts(),
                    "complete": result.complete,
                    "values": values,
                }
            )
        main_code = sel.main_code_of(ind, mains_by_id)
        main_points[main_code] = main_points.get(main_code, sel.ZERO) + points
    before_mains = {d.get("code"): d for d in ((snap.main_indices if snap else None) or [])}
    main_rows: list[dict[str, Any]] = []
    for m in mains:
        pts = main_points.get(m.code, sel.ZERO)
        main_rows.append(
            {
                "code": m.code,
                "name": m.name,
                "max_points": m.max_points,
                "points": pts,
                "value": (pts / m.max_points) if m.max_points else sel.ZERO,
                "points_before": sel.dec(before_mains.get(m.code, {}).get("points")),
            }
        )
    # Stored like the snapshots: full precision, 12 decimal places.
    raw_total = sum((r["points"] for r in main_rows if r["max_points"] > 0), sel.ZERO)
    total = raw_total.quantize(Q12)
    dti = (raw_total / sel.dti_scale(framework)).quantize(Q12)
    out: dict[str, Any] = {
        "framework": framework.code,
        "period": period.pk,
        "kind": kind,
        "total_points": total,
        "dti": dti,
        "total_points_before": snap.total_points if snap else None,
        "dti_before": snap.dti if snap else None,
        "main_indices": main_rows,
        "changed": changed,
        "rank": None,
        "national_year": None,
    }
    year, rows = sel.national_rows(framework)
    if rows:
        others = [r for r in rows if not sel.same_province(r.province, settings.PROVINCE_NAME)]
        out["national_year"] = year
        out["provinces"] = len(others) + 1
        out["rank"] = sel.rank_among(dti, [r.official_dti for r in others])
        for r in main_rows:
            if r["max_points"] > 0:
                vals = [
                    v
                    for o in others
                    if (v := sel.dec((o.main_values or {}).get(r["code"]))) is not None
                ]
                r["rank"] = sel.rank_among(r["value"], vals) if vals else None
    return out


def overrides_from_form(data: Mapping[str, Any], picked: list[str]) -> dict[str, dict[str, str]]:
    """``v:<sub code>:<measure code>`` form fields of the picked sub-indicators."""
    out: dict[str, dict[str, str]] = {}
    for key, value in data.items():
        if not key.startswith("v:"):
            continue
        _prefix, code, mcode = (key.split(":", 2) + ["", ""])[:3]
        if code in picked and mcode:
            out.setdefault(code, {})[mcode] = value
    for code in picked:
        out.setdefault(code, {})
    return out
