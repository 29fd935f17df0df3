"""Scoring test fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture
def request_recompute(django_capture_on_commit_callbacks):
    """``request_recompute(fw, period)``: a recompute request as evidence makes it, after commit
    (the test transaction never commits, so the on-commit callbacks are run explicitly)."""
    from scoring import services

    def run(fw, period):
        with django_capture_on_commit_callbacks(execute=True):
            services.score_recompute_request(framework_id=fw.pk, period_id=period.pk)

    return run


@pytest.fixture
def world():
    """The standard dashboard world (tests/scoring/dash_helpers.py), scores computed; a test
    module needing another world defines its own."""
    from .dash_helpers import build_world, recompute

    w = build_world()
    recompute(w)
    return w
