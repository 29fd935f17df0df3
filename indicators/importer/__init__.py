"""Framework import/export: safe reading, the appendix and template layouts, validation.

The database writes live in ``indicators.services.framework_import``; this package only reads
files into plain data (``parse``), checks their structure (``validate``) and writes the portal's template (``export``).
"""

from .export import export_framework_xlsx
from .parse import (
    ParsedFramework,
    ParsedNode,
    ParseError,
    parse_points,
    parse_workbook,
)
from .validate import validate_structure

__all__ = [
    "ParseError",
    "ParsedFramework",
    "ParsedNode",
    "export_framework_xlsx",
    "parse_points",
    "parse_workbook",
    "validate_structure",
]
