"""Fixtures shared by the evidence tests (modules written before it keep their own copies)."""

from __future__ import annotations

import pytest

from tests.evidence.reporting_factories import make_world


@pytest.fixture
def media_root(settings, tmp_path):
    """Stored evidence goes to a fresh directory (use it with ``usefixtures``)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SENDFILE_ROOT = settings.MEDIA_ROOT
    return settings.MEDIA_ROOT


@pytest.fixture
def world(agency_a, agency_b):
    return make_world(agency_a, agency_b)
