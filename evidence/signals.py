"""Signals evidence sends so that higher layers (scoring) can react without evidence importing them.

``scores_invalidated`` is sent (after commit) whenever data that feeds scores changes: an
approval, a reopen, a value change, an appraisal. Receivers only enqueue work.
"""

from django.dispatch import Signal

# kwargs: framework_id: int, period_id: int
scores_invalidated = Signal()
