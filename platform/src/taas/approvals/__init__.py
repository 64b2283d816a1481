"""Maker-checker: a destructive action requested by one operator runs when another approves it."""
