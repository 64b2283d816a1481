"""Bank tenants: their lifecycle, quotas and the API over them."""
