"""Agencies' search text holds the code normalised like the rest (lowercase, no punctuation):
a search is lowercased, so an uppercase code ("STTTT") was never found."""

from django.db import migrations


def refresh(apps, schema_editor):
    from agencies.text import normalize_name

    Agency = apps.get_model("agencies", "Agency")
    AgencyAlias = apps.get_model("agencies", "AgencyAlias")
    aliases: dict[int, list[str]] = {}
    for agency_id, normalized in AgencyAlias.objects.values_list("agency_id", "normalized"):
        aliases.setdefault(agency_id, []).append(normalized)
    for agency in Agency.objects.only("pk", "normalized_name", "short_name", "code", "search_text"):
        parts = [
            agency.normalized_name,
            normalize_name(agency.short_name),
            normalize_name(agency.code),
            *aliases.get(agency.pk, []),
        ]
        text = " | ".join(p for p in parts if p)
        if text != agency.search_text:
            Agency.objects.filter(pk=agency.pk).update(search_text=text)


class Migration(migrations.Migration):
    dependencies = [("agencies", "0003_user_role_council")]

    operations = [migrations.RunPython(refresh, migrations.RunPython.noop, elidable=True)]
