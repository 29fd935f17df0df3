"""Every stored score is marked stale once: the engine now scores threshold bands on a rate or
a number without the 100% cap (input hash format ``dti-inputs/4``).

A snapshot is rewritten only by a recompute, and the nightly one covers open periods only; the
sweep (every minute, ``scoring.tasks.sweep_stale``) recomputes every (framework, period) whose
``requested_seq`` is ahead and whose enqueue failed, closed periods included. Snapshots whose
inputs score the same are rewritten with the same figures.
"""

from django.db import migrations
from django.db.models import F
from django.utils import timezone


def mark_stale(apps, schema_editor):
    ScoreState = apps.get_model("scoring", "ScoreState")
    ScoreState.objects.update(
        requested_seq=F("requested_seq") + 1, enqueue_failed_at=timezone.now()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0003_snapshot_json_storage"),
        ("evidence", "0008_rescore_threshold_rates"),
    ]

    operations = [migrations.RunPython(mark_stale, migrations.RunPython.noop, elidable=True)]
