"""factory-boy factories for every model. Apps may add more in their own test packages."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from agencies.models import Agency, AgencyGroup, User
from evidence.models import ReportingPeriod, Submission
from indicators.models import Framework, Indicator, Measure


class AgencyFactory(DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"agency-{n}")
    name = factory.Sequence(lambda n: f"Sở Thử nghiệm {n}")
    kind = Agency.Kind.DEPARTMENT


class AgencyGroupFactory(DjangoModelFactory):
    class Meta:
        model = AgencyGroup

    code = factory.Sequence(lambda n: f"group-{n}")
    name = factory.Sequence(lambda n: f"Nhóm {n}")
    kinds = factory.LazyFunction(lambda: [Agency.Kind.DEPARTMENT])


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"Nguyễn Văn {n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.gov.vn")
    role = User.Role.AGENCY_STAFF
    agency = factory.SubFactory(AgencyFactory)
    password = factory.PostGenerationMethodCall("set_password", "pass12345")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class FrameworkFactory(DjangoModelFactory):
    class Meta:
        model = Framework

    code = factory.Sequence(lambda n: f"fw-{n}")
    name = factory.Sequence(lambda n: f"Bộ chỉ số thử {n}")
    year = 2025
    total_points = Decimal("1000")


def published_framework(**kwargs) -> Framework:
    """A ``FrameworkFactory`` framework, published (periods open only on a published framework;
    leaders and agency staff do not see drafts). The status is guarded by django-fsm, hence the
    queryset update."""
    fw = FrameworkFactory(**kwargs)
    Framework.objects.filter(pk=fw.pk).update(status=Framework.Status.PUBLISHED)
    return Framework.objects.get(pk=fw.pk)


class IndicatorFactory(DjangoModelFactory):
    class Meta:
        model = Indicator

    framework = factory.SubFactory(FrameworkFactory)
    level = Indicator.Level.SUB
    code = factory.Sequence(lambda n: f"1.{n + 1}")
    name = factory.Sequence(lambda n: f"Chỉ số thành phần {n}")
    max_points = Decimal("10")


class MeasureFactory(DjangoModelFactory):
    class Meta:
        model = Measure

    indicator = factory.SubFactory(IndicatorFactory)
    code = factory.Sequence(lambda n: f"m{n}")
    label = factory.Sequence(lambda n: f"Số liệu {n}")
    kind = Measure.Kind.NUMBER


class ReportingPeriodFactory(DjangoModelFactory):
    class Meta:
        model = ReportingPeriod

    framework = factory.SubFactory(FrameworkFactory)
    year = 2025
    quarter = 4
    deadline = factory.LazyFunction(lambda: datetime.date.today() + datetime.timedelta(days=30))


class SubmissionFactory(DjangoModelFactory):
    class Meta:
        model = Submission

    indicator = factory.SubFactory(IndicatorFactory)
    agency = factory.SubFactory(AgencyFactory)
    period = factory.SubFactory(
        ReportingPeriodFactory, framework=factory.SelfAttribute("..indicator.framework")
    )
    values = factory.LazyFunction(dict)
