"""The servers of the local stack, each able to install, start, probe and stop itself.

The contract they share is in ``base``; each server has a module of its own. The order
of ``COMPONENT_TYPES`` is the order in which ``taas stack`` lists and starts them.
"""

from __future__ import annotations

from collections.abc import Sequence

from taas.kit.errors import ConfigurationError
from taas.localstack.components.base import (
    PROBE_TIMEOUT_S,
    BuiltComponent,
    Component,
    Health,
    Port,
    ProcessComponent,
)
from taas.localstack.components.containerd import Containerd
from taas.localstack.components.coredns import CoreDns
from taas.localstack.components.etcd import Etcd
from taas.localstack.components.keycloak import Keycloak
from taas.localstack.components.kubernetes import (
    KubeApiserver,
    KubeControllerManager,
    KubeScheduler,
    KubeServer,
    write_admin_kubeconfig,
)
from taas.localstack.components.kwok import KWOK_NODE_ANNOTATION, KWOK_NODES, Kwok
from taas.localstack.components.metrics_server import MetricsServer
from taas.localstack.components.minio import Minio
from taas.localstack.components.netpol import NetworkPolicies
from taas.localstack.components.node import Kubelet, KubeProxy
from taas.localstack.components.postgres import Postgres
from taas.localstack.components.redis import Redis
from taas.localstack.components.registry import Registry
from taas.localstack.components.relay import NodeRelay

__all__ = [
    "COMPONENT_TYPES",
    "KWOK_NODES",
    "KWOK_NODE_ANNOTATION",
    "PROBE_TIMEOUT_S",
    "BuiltComponent",
    "Component",
    "Containerd",
    "CoreDns",
    "Etcd",
    "Health",
    "Keycloak",
    "KubeApiserver",
    "KubeControllerManager",
    "KubeProxy",
    "KubeScheduler",
    "KubeServer",
    "Kubelet",
    "Kwok",
    "MetricsServer",
    "Minio",
    "NetworkPolicies",
    "NodeRelay",
    "Port",
    "Postgres",
    "ProcessComponent",
    "Redis",
    "Registry",
    "component_names",
    "require_known",
    "write_admin_kubeconfig",
]

COMPONENT_TYPES: Sequence[type[Component]] = (
    Postgres,
    Keycloak,
    Redis,
    Minio,
    Etcd,
    KubeApiserver,
    KubeControllerManager,
    KubeScheduler,
    Kwok,
    Registry,
    Containerd,
    Kubelet,
    KubeProxy,
    CoreDns,
    NetworkPolicies,
    MetricsServer,
    NodeRelay,
)


def component_names() -> list[str]:
    return [kind.name for kind in COMPONENT_TYPES]


def require_known(names: Sequence[str]) -> None:
    unknown = [name for name in names if name not in component_names()]
    if unknown:
        raise ConfigurationError(
            f"unknown component(s): {', '.join(unknown)}",
            hint=f"choose from: {', '.join(component_names())}",
        )
