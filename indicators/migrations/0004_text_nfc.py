"""Framework text stored before text was kept in Unicode NFC (an appendix written on macOS) is
rewritten in NFC; refuses, rather than merges, rows that would become equal (two codes)."""

from django.db import migrations

from agencies.nfc_migration import nfc_operation

LABELS = ["indicators.Framework", "indicators.Indicator", "indicators.Measure", "indicators.Crosswalk"]


class Migration(migrations.Migration):
    dependencies = [("indicators", "0003_per_population_measures_are_rates")]

    operations = [nfc_operation(LABELS)]
