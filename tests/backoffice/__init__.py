"""The back office across apps: what crafted admin input does."""
