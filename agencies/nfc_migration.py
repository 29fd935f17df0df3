"""The data migrations that put already stored text in Unicode NFC (see ``NFCText``).

Shared by the apps' migrations; it reads the models from the migration state (``apps``), never
the current classes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from .text import to_nfc

_TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def _unique_sets(model: Any) -> list[tuple[str, ...]]:
    """The column sets (attnames) the database keeps unique: unique fields, unconditional
    unique constraints on fields, ``unique_together``."""
    meta = model._meta
    sets: list[tuple[str, ...]] = [
        (f.attname,) for f in meta.concrete_fields if f.unique and not f.primary_key
    ]
    for constraint in meta.constraints:
        if (
            isinstance(constraint, models.UniqueConstraint)
            and constraint.fields
            and constraint.condition is None
        ):
            sets.append(tuple(meta.get_field(n).attname for n in constraint.fields))
    for names in meta.unique_together:
        sets.append(tuple(meta.get_field(n).attname for n in names))
    return sets


def normalize_stored_text(apps: Any, labels: Iterable[str]) -> None:
    """Rewrites the text (char, text and the strings of JSON fields) of the ``labels`` models in
    NFC. Two rows that would become equal on a unique column set are never merged: nothing is
    written and ``RuntimeError`` names them, to be resolved by hand before migrating again."""
    plans: list[tuple[Any, dict[Any, dict[str, Any]]]] = []
    clashes: list[str] = []
    for label in labels:
        model = apps.get_model(label)
        text = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, _TEXT_FIELDS) and not f.primary_key
        ]
        uniques = [u for u in _unique_sets(model) if set(u) & set(text)]
        columns = sorted({*text, *(c for u in uniques for c in u)})
        changes: dict[Any, dict[str, Any]] = {}
        seen: list[dict[tuple[Any, ...], list[Any]]] = [{} for _ in uniques]
        for row in model._default_manager.values("pk", *columns).iterator():
            normal = {c: to_nfc(row[c]) for c in text}
            changed = {c: v for c, v in normal.items() if v != row[c]}
            if changed:
                changes[row["pk"]] = changed
            for owners, unique in zip(seen, uniques, strict=True):
                key = tuple(normal.get(c, row[c]) for c in unique)
                if None not in key:
                    owners.setdefault(key, []).append(row["pk"])
        for owners, unique in zip(seen, uniques, strict=True):
            for key, pks in owners.items():
                if len(pks) > 1:
                    clashes.append(
                        f"{label} rows {', '.join(map(str, pks))}: {', '.join(unique)} "
                        f"= {key!r} once in NFC"
                    )
        plans.append((model, changes))
    if clashes:
        raise RuntimeError(
            "Storing text in Unicode NFC would make rows equal that must stay unique; rename or "
            "merge them by hand, then migrate again:\n" + "\n".join(clashes)
        )
    for model, changes in plans:
        for pk, changed in changes.items():
            model._default_manager.filter(pk=pk).update(**changed)


def nfc_operation(labels: list[str]) -> Any:
    """The migration operation running ``normalize_stored_text`` on ``labels``; reversed, it
    does nothing (NFC text is as valid a value as the decomposed text it replaced)."""
    from django.db import migrations

    def forwards(apps: Any, schema_editor: Any) -> None:
        normalize_stored_text(apps, labels)

    return migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)
