"""evidence views (package: reporting views in ``reporting``, review views in their own modules)."""
