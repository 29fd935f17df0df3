"""API routes of the agencies app (mounted under /api/v1/)."""

from rest_framework.routers import SimpleRouter

from .api import AgencyViewSet

router = SimpleRouter()
router.register("agencies", AgencyViewSet, basename="agency")

urlpatterns = router.urls
