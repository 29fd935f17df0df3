"""evidence forms."""
