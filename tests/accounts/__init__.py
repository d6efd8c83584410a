"""Accounts: staff and users, API keys, the staff second factor."""
