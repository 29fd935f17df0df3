"""Names stored before text was kept in Unicode NFC (a file written on macOS, Unikey's "tổ hợp"
mode) are rewritten in NFC; refuses, rather than merges, rows that would become equal."""

from django.db import migrations

from agencies.nfc_migration import nfc_operation

LABELS = [
    "agencies.Agency",
    "agencies.AgencyAlias",
    "agencies.AgencyGroup",
    "agencies.AgencyGroupAlias",
    "agencies.User",
]


class Migration(migrations.Migration):
    dependencies = [("agencies", "0004_search_text_code_normalized")]

    operations = [nfc_operation(LABELS)]
