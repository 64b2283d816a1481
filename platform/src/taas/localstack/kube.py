"""Kubernetes API calls the local stack makes itself: fake nodes for kwok."""

from __future__ import annotations

from collections.abc import Sequence

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from taas.localstack.context import StackContext


def api_client(ctx: StackContext) -> client.ApiClient:
    """An API client authenticated as the local cluster admin."""
    api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(ctx.paths.kubeconfig)
    )
    return api


def _fake_node(name: str, annotation: str) -> client.V1Node:
    capacity = {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "1Ti"}
    return client.V1Node(
        metadata=client.V1ObjectMeta(
            name=name,
            annotations={annotation: "fake"},
            labels={
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
        ),
        status=client.V1NodeStatus(capacity=capacity, allocatable=capacity),
    )


def ensure_fake_nodes(ctx: StackContext, names: Sequence[str], annotation: str) -> None:
    """Create the fake nodes kwok manages (already existing counts as done)."""
    with api_client(ctx) as api:
        core = client.CoreV1Api(api)
        for name in names:
            try:
                core.create_node(_fake_node(name, annotation))
            except ApiException as exc:
                if exc.status != 409:
                    raise


def ready_nodes(ctx: StackContext) -> list[str]:
    """Names of nodes whose Ready condition is True."""
    with api_client(ctx) as api:
        nodes = client.CoreV1Api(api).list_node(_request_timeout=5).items
    return [
        str(node.metadata.name)
        for node in nodes
        if node.metadata is not None
        and node.status is not None
        and any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
    ]
