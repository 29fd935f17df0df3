"""Makes the transition log append-only in the database too (last line of defence behind the
model and queryset guards): UPDATE and DELETE of a row raise, whatever the code path (raw SQL,
a shell, a bulk operation). PostgreSQL: a row trigger for UPDATE and DELETE (TRUNCATE, used only
by test teardown and restores, is not a row operation). SQLite: UPDATE only, so that the test
runner can still flush the database between transactional tests.
"""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION evidence_transition_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'evidence_submissiontransition is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS evidence_transition_append_only ON evidence_submissiontransition;
CREATE TRIGGER evidence_transition_append_only
    BEFORE UPDATE OR DELETE ON evidence_submissiontransition
    FOR EACH ROW EXECUTE FUNCTION evidence_transition_append_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS evidence_transition_append_only ON evidence_submissiontransition;
DROP FUNCTION IF EXISTS evidence_transition_append_only();
"""
SQLITE_UP = """
CREATE TRIGGER IF NOT EXISTS evidence_transition_append_only
BEFORE UPDATE ON evidence_submissiontransition
BEGIN
    SELECT RAISE(ABORT, 'evidence_submissiontransition is append-only (UPDATE refused)');
END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS evidence_transition_append_only;"


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UP, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_UP)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DOWN, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("evidence", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
