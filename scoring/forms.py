"""scoring forms."""
