"""The operations engine: plans of idempotent steps, run, recorded, resumed and undone.

Domains register their plans (:mod:`taas.operations.plans`); the engine runs any of them
and never imports a domain. See docs/architecture.md ("Operations engine").
"""
