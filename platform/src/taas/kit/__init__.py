"""Shared plumbing: settings, errors and other pieces every layer may use."""
