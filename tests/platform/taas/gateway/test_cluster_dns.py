"""The gateway's resolver outside the cluster: Service names from the stack's CoreDNS,
every other name from the system."""

from __future__ import annotations

import asyncio
import socket

import pytest

from taas.gateway.cluster_dns import ClusterResolver
from taas.localstack import network
from taas.localstack.stack import LocalStack


def test_service_names_come_from_the_cluster_dns_and_others_from_the_system(
    stack: LocalStack,
) -> None:
    async def resolve() -> tuple[list[str], list[str]]:
        resolver = ClusterResolver(f"{network.GATEWAY}:53")
        try:
            service = await resolver.resolve("kubernetes.default.svc.cluster.local", 443)
            local = await resolver.resolve("localhost", 80)
        finally:
            await resolver.close()
        return [r["host"] for r in service], [r["host"] for r in local]

    service, local = asyncio.run(resolve())
    assert service == ["10.96.0.1"]  # the API server's Service, first address of the range
    assert "127.0.0.1" in local


def test_an_unknown_service_name_is_an_os_error_the_gateway_turns_into_a_502(
    stack: LocalStack,
) -> None:
    async def resolve() -> None:
        resolver = ClusterResolver(f"{network.GATEWAY}:53")
        try:
            await resolver.resolve("nothing.nowhere.svc.cluster.local", 80, socket.AF_INET)
        finally:
            await resolver.close()

    with pytest.raises(OSError, match=r"no address for nothing\.nowhere"):
        asyncio.run(resolve())


def test_only_names_under_the_cluster_domain_go_to_the_cluster_dns() -> None:
    async def check() -> None:  # the system resolver it wraps needs a running loop
        resolver = ClusterResolver("10.0.0.1:53", domain="cluster.local")
        assert resolver.in_cluster("risk-v1.taas-modules.svc.cluster.local")
        assert resolver.in_cluster("risk-v1.taas-modules.svc.cluster.local.")
        assert not resolver.in_cluster("cluster.local.example.com")
        assert not resolver.in_cluster("127.0.0.1")
        await resolver.close()

    asyncio.run(check())
