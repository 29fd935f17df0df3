"""Reported text stored before text was kept in Unicode NFC (values, explanations, evidence
document fields) is rewritten in NFC. The transition log is append-only and left as written."""

from django.db import migrations

from agencies.nfc_migration import nfc_operation

LABELS = [
    "evidence.ReportingPeriod",
    "evidence.ItemExtension",
    "evidence.Submission",
    "evidence.EvidenceFile",
]


class Migration(migrations.Migration):
    dependencies = [("evidence", "0008_rescore_threshold_rates")]

    operations = [nfc_operation(LABELS)]
