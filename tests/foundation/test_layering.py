"""The apps depend one way: agencies ← indicators ← evidence ← scoring. No module, template or
string reference (``"app.Model"``, ``"app:url-name"``, ``"app.tasks.x"``) of an app may name an
app above it; higher layers react to lower ones through signals (``evidence.signals``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER = {"agencies": 0, "indicators": 1, "evidence": 2, "scoring": 3}
_APP_REF = re.compile(r"(agencies|indicators|evidence|scoring)[.:][A-Za-z_][\w.\-]*")
_TEMPLATE_REF = re.compile(
    r"\{%\s*(?:include|extends|url)\s+[\"'](agencies|indicators|evidence|scoring)[/:]"
)


def _python_refs(path: Path) -> list[tuple[int, str]]:
    refs = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            refs += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            refs.append((node.lineno, node.module))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _APP_REF.fullmatch(node.value)
        ):
            refs.append((node.lineno, node.value))
    return refs


def test_python_modules_import_only_their_own_layer_or_below():
    wrong = []
    for app, level in LAYER.items():
        for path in sorted((ROOT / app).rglob("*.py")):
            for line, ref in _python_refs(path):
                top = re.split(r"[.:]", ref)[0]
                if LAYER.get(top, -1) > level:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} -> {ref}")
    assert wrong == []


def test_templates_refer_only_to_their_own_layer_or_below():
    wrong = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        app = path.relative_to(ROOT / "templates").parts[0]
        if app not in LAYER:
            continue  # project-wide templates (base, navigation) may link every app
        for m in _TEMPLATE_REF.finditer(path.read_text(encoding="utf-8")):
            if LAYER[m.group(1)] > LAYER[app]:
                wrong.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert wrong == []
