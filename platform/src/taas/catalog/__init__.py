"""The module catalog: what banks browse and subscribe to."""
