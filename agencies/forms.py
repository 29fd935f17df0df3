"""agencies forms."""
