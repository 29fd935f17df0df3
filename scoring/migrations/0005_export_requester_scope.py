"""Export jobs remember their requester's agency and role (``agencies.mfa.scope_of``); jobs made
before are stamped with the requester's present scope, so they stay downloadable until it
changes."""

from django.db import migrations, models
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Concat
from django.db.models.functions import Cast


def stamp_existing(apps, schema_editor):
    ExportJob = apps.get_model("scoring", "ExportJob")
    User = apps.get_model("agencies", "User")
    # The same text as agencies.mfa.scope_of: "<user id>:<agency id or ->:<role>".
    scopes = User.objects.filter(pk=models.OuterRef("requested_by_id")).annotate(
        scope=Concat(
            Cast("pk", models.CharField()),
            Value(":"),
            Coalesce(Cast("agency_id", models.CharField()), Value("-")),
            Value(":"),
            F("role"),
            output_field=models.CharField(),
        )
    )
    ExportJob.objects.filter(requester_scope="").update(
        requester_scope=models.Subquery(scopes.values("scope")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0004_rescore_after_engine_fix"),
        ("agencies", "__first__"),
    ]

    operations = [
        migrations.AddField(
            model_name="exportjob",
            name="requester_scope",
            field=models.CharField(blank=True, editable=False, max_length=80),
        ),
        migrations.RunPython(stamp_existing, migrations.RunPython.noop, elidable=True),
    ]
