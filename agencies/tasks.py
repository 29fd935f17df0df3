"""agencies tasks."""
