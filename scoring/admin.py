"""scoring admin."""
