"""The open platform: vendors, plugin versions, the module catalog, subscriptions, usage."""
