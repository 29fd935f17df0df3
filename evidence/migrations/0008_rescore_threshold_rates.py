"""Self-assessed points of threshold rules on a rate or a number, rescored.

Until indicators' threshold-band fix (hash format ``dti-inputs/4``), such a rule capped its figure
at 100 before it met the bands, so 125 subscriptions per 100 inhabitants scored like 100. The
points stored on a submission (``self_points``) were computed that way when it was saved, and an
approval without appraised points copies them: those of every submission not yet approved are
computed again with the rule as it now is, and each change is audited. Approved submissions keep
their points (approved data never changes silently; a reviewer reopens the item to correct it).
"""

from decimal import Decimal

from django.db import migrations

AFFECTED_KINDS = {"rate", "number"}
APPROVED = "approved"


def rescore(apps, schema_editor):
    from evidence.services.values import compute_points  # the rule as it now is

    Submission = apps.get_model("evidence", "Submission")
    Measure = apps.get_model("indicators", "Measure")
    AuditEvent = apps.get_model("agencies", "AuditEvent")
    subs = (
        Submission.objects.exclude(state=APPROVED)
        .filter(indicator__scoring_rule__type="threshold_bands")
        .select_related("indicator")
    )
    measures: dict[int, list] = {}
    events = []
    for sub in subs.iterator(chunk_size=500):
        rule = sub.indicator.scoring_rule or {}
        if "numerator" in rule:
            continue  # a percentage of two counts: still capped at 100%, unchanged
        ms = measures.setdefault(
            sub.indicator_id, list(Measure.objects.filter(indicator_id=sub.indicator_id))
        )
        kinds = {m.code: m.kind for m in ms}
        if kinds.get(str(rule.get("measure", ""))) not in AFFECTED_KINDS:
            continue
        points = compute_points(sub.indicator, ms, sub.values or {}).points
        new = Decimal(points).quantize(Decimal("0.0001"))
        if sub.self_points is not None and Decimal(sub.self_points) == new:
            continue
        old = sub.self_points
        Submission.objects.filter(pk=sub.pk).update(self_points=new)
        events.append(
            AuditEvent(
                action="submission.rescored",
                agency_id=sub.agency_id,
                object_type="evidence.submission",
                object_id=str(sub.pk),
                object_repr=str(sub.indicator.code)[:255],
                data={
                    "self_points": {"from": None if old is None else str(old), "to": str(new)},
                    "why": "threshold bands on a rate or a number are no longer capped at 100%",
                },
            )
        )
    AuditEvent.objects.bulk_create(events)


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0007_model_choices"),
        ("indicators", "0003_per_population_measures_are_rates"),
        ("agencies", "0003_user_role_council"),
    ]

    operations = [migrations.RunPython(rescore, migrations.RunPython.noop, elidable=True)]
