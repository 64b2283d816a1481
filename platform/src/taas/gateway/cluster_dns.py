"""Resolving the cluster's Service names when the gateway runs outside the cluster.

Inside a cluster the gateway's pod resolves ``<service>.<namespace>.svc.cluster.local``
through the cluster DNS like any pod. The local stack runs the gateway as a host process,
whose resolver does not know those names; given the cluster DNS server's address, this
resolver asks it for names under the cluster domain and leaves every other name to the
system's resolver. Routes keep naming Services, so a Service re-created with a new
address is followed without touching a route.
"""

from __future__ import annotations

import socket

import dns.asyncresolver
import dns.exception
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


class ClusterResolver(AbstractResolver):
    """Names under ``domain`` from the cluster DNS at ``server`` (``host:port``); others
    from the system."""

    def __init__(self, server: str, domain: str = "cluster.local", timeout_s: float = 2.0) -> None:
        host, _, port = server.rpartition(":")
        self.suffix = "." + domain.strip(".")
        self.cluster = dns.asyncresolver.Resolver(configure=False)
        self.cluster.nameservers = [host or server]
        self.cluster.port = int(port) if host else 53
        self.cluster.lifetime = timeout_s
        self.system = ThreadedResolver()

    def in_cluster(self, host: str) -> bool:
        return host.rstrip(".").endswith(self.suffix)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if not self.in_cluster(host):
            return await self.system.resolve(host, port, family)
        try:
            answer = await self.cluster.resolve(host.rstrip(".") + ".", "A")
        except (dns.exception.DNSException, OSError) as exc:
            raise OSError(f"the cluster DNS has no address for {host}: {exc}") from exc
        return [
            ResolveResult(
                hostname=host,
                host=record.address,
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=_NUMERIC,
            )
            for record in answer
        ]

    async def close(self) -> None:
        await self.system.close()
