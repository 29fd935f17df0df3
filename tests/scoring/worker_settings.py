"""Settings of the real Celery worker started by the slow integration tests.

The test settings, with a short sweep grace and a short broker visibility timeout so that a run
lost with a killed worker is recovered within seconds rather than the production minutes/hour.
"""

from dti_portal.settings_test import *  # noqa: F403

SCORING_SWEEP_GRACE_SECONDS = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 10}
