"""Reads behind the dashboards, the league table and the exports, scoped to the user.

Province users (leaders, reviewers, admins) see the province's figures as stored in the score
snapshots (the same numbers as ``scores/summary/``). Agency staff see their own part only: the
sub-indicators their agency leads, coordinates (directly or through a group) or reported on, with
totals summed over those. Every function issues a fixed number of queries whatever the number of
agencies, submissions or evidence files.

A package: :mod:`.common` (constants, framework and period, scope), :mod:`.table` (the score
table), :mod:`.national` (national results), :mod:`.dashboard` (dashboard, lists, drill-down),
:mod:`.trends` (trends, reaching back into earlier framework versions through the crosswalk),
:mod:`.ranking` (the league table).
"""

from .common import (
    KINDS,
    LATEST_PERIOD_FIRST,
    MAX_ID,
    SUBMIT_STATES,
    WAITING_FOR_AGENCY,
    ZERO,
    SubInfo,
    dec,
    extension_deadlines,
    frameworks_for_dashboard,
    group_contains,
    is_lead_or_coordinator,
    load_tree,
    main_code_of,
    period_sort_key,
    periods_of,
    previous_period,
    resolve_framework_period,
    visible_codes,
)
from .dashboard import (
    chart_data,
    dashboard,
    display_value,
    headline_kind,
    items_overdue_or_returned,
    main_index_detail,
    sub_indicator_detail,
)
from .national import (
    last_official,
    national_columns,
    national_comparison,
    national_rows,
    own_row,
    rank_among,
    same_province,
)
from .ranking import (
    agency_figures,
    league_table,
)
from .table import (
    GroupRow,
    MainRow,
    ScoreTable,
    SubRow,
    dti_scale,
    score_table,
    snapshots_for,
)
from .trends import (
    EarlierVersion,
    earlier_versions,
    sub_indicator_history,
    trend,
)

__all__ = [
    "EarlierVersion",
    "GroupRow",
    "KINDS",
    "LATEST_PERIOD_FIRST",
    "MAX_ID",
    "MainRow",
    "SUBMIT_STATES",
    "ScoreTable",
    "SubInfo",
    "SubRow",
    "WAITING_FOR_AGENCY",
    "ZERO",
    "agency_figures",
    "chart_data",
    "dashboard",
    "dec",
    "display_value",
    "dti_scale",
    "earlier_versions",
    "extension_deadlines",
    "frameworks_for_dashboard",
    "group_contains",
    "headline_kind",
    "is_lead_or_coordinator",
    "items_overdue_or_returned",
    "last_official",
    "league_table",
    "load_tree",
    "main_code_of",
    "main_index_detail",
    "national_columns",
    "national_comparison",
    "national_rows",
    "own_row",
    "period_sort_key",
    "periods_of",
    "previous_period",
    "rank_among",
    "resolve_framework_period",
    "same_province",
    "score_table",
    "snapshots_for",
    "sub_indicator_detail",
    "sub_indicator_history",
    "trend",
    "visible_codes",
]
