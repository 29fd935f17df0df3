"""Data migrations of indicators."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from indicators.models import Measure
from tests.factories import IndicatorFactory

pytestmark = pytest.mark.django_db


def test_per_population_measures_imported_as_numbers_become_rates():
    migration = importlib.import_module(
        "indicators.migrations.0003_per_population_measures_are_rates"
    )
    ind = IndicatorFactory()
    Measure.objects.create(
        indicator=ind, code="a", label="Số thuê bao", kind="number", unit="thuê bao/100 dân"
    )
    Measure.objects.create(
        indicator=ind, code="b", label="Số doanh nghiệp công nghệ số trên 1000 dân", kind="number"
    )
    Measure.objects.create(
        indicator=ind, code="c", label="Tổng chi", kind="number", unit="triệu đồng"
    )
    Measure.objects.create(indicator=ind, code="d", label="Số người/100 dân", kind="count")
    migration.forwards(apps, None)
    kinds = dict(Measure.objects.values_list("code", "kind"))
    assert kinds == {"a": "rate", "b": "rate", "c": "number", "d": "count"}
