"""scoring views."""
