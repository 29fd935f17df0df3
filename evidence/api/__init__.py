"""evidence API (package: reporting endpoints in ``reporting``, review endpoints in their own modules)."""
