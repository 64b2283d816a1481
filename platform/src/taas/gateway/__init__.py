"""The gateway: the data plane that routes bank calls to modules."""
