"""Measures counted per 100 or 1000 inhabitants, imported before the ``rate`` kind existed, become
rates: their contributions must never be added up (a sum of rates means nothing). Only the kind
changes (the values, rule and points stay); frameworks are otherwise immutable once published,
this corrects how the portal reads them."""

import re

from django.db import migrations

PER_POPULATION = re.compile(r"(/|trên\s)\s*(100|1000)\s*dân", re.IGNORECASE)


def forwards(apps, schema_editor):
    Measure = apps.get_model("indicators", "Measure")
    ids = [
        m.pk
        for m in Measure.objects.filter(kind="number").only("pk", "unit", "label")
        if PER_POPULATION.search(m.unit or "") or PER_POPULATION.search(m.label or "")
    ]
    Measure.objects.filter(pk__in=ids).update(kind="rate")


def backwards(apps, schema_editor):
    Measure = apps.get_model("indicators", "Measure")
    Measure.objects.filter(kind="rate").update(kind="number")


class Migration(migrations.Migration):
    dependencies = [("indicators", "0002_measure_kind_rate")]

    operations = [migrations.RunPython(forwards, backwards)]
