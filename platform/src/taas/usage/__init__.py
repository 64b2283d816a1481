"""Metered usage: what banks called through the gateways, per day and module."""
