"""Snapshot JSON stored uncompressed on PostgreSQL.

A recompute rewrites every snapshot of a period (tens of kilobytes of lineage each); pglz
compression of those values was about a third of the time PostgreSQL spent storing them, for a
table that holds a few rows per period. Other databases: nothing to do.
"""

from django.db import migrations

COLUMNS = ("main_indices", "lineage", "agencies")


def _set_storage(storage: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name("scoring_scoresnapshot")
        columns = ", ".join(
            f"ALTER COLUMN {schema_editor.quote_name(c)} SET STORAGE {storage}" for c in COLUMNS
        )
        schema_editor.execute(f"ALTER TABLE {table} {columns}")

    return run


class Migration(migrations.Migration):
    dependencies = [("scoring", "0002_exportjob")]

    operations = [
        migrations.RunPython(_set_storage("EXTERNAL"), _set_storage("EXTENDED"), elidable=False)
    ]
