"""Ids and page numbers in templates are never localized: with USE_THOUSAND_SEPARATOR a
submission id 1234 would print as "1.234" and break the link, form field or anchor it is in."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
RAW_ID = re.compile(r"\{\{\s*[\w.]*(?:\.pk|_id|\.id|page_number|\.version)\s*\}\}")


def test_no_localized_ids_in_templates():
    found = [
        f"{path.relative_to(TEMPLATES)}:{n}: {m.group(0)}"
        for path in TEMPLATES.rglob("*.html")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for m in RAW_ID.finditer(line)
    ]
    assert not found, "use |unlocalize:\n" + "\n".join(found)


def test_an_id_past_a_thousand_renders_plain(settings):
    from django.template import Context, Template
    from django.utils import translation

    with translation.override("vi"):
        html = Template("{% load l10n %}{{ n }} {{ n|unlocalize }}").render(Context({"n": 1234}))
    assert html == "1.234 1234"  # why the rule above exists
