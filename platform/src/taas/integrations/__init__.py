"""Adapters for the outside systems: Kubernetes, PostgreSQL, MinIO, Keycloak.

Each adapter works on a ``TenantSpec`` (plain data), makes the system match it idempotently
(create-or-adopt; "already exists" means done) and reports what it had to change, so the
same call provisions a tenant and repairs drift. Outside failures become ``TemporaryError``
(retry) or ``PermanentError`` (a person must act).
"""
