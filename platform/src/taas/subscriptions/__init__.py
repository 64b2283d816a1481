"""Subscriptions: a bank's tenant using a module of the catalog."""
