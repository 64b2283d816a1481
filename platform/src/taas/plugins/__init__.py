"""Vendors and their plugin versions: submission, validation, review, kill switches."""
