"""indicators tasks."""
