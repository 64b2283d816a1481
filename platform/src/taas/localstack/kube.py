"""Kubernetes API calls the local stack makes itself: fake nodes for kwok."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

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


Rule = tuple[list[str], list[str], list[str]]  # API groups, resources, verbs


def ensure_cluster_role(
    ctx: StackContext, user: str, rules: Sequence[Rule], *, namespace: str | None = None
) -> None:
    """A ClusterRole named ``user`` with ``rules``, bound to ``user`` (created or updated);
    with ``namespace``, ``user`` is that namespace's ServiceAccount of that name."""
    role = client.V1ClusterRole(
        metadata=client.V1ObjectMeta(name=user, labels={"app.kubernetes.io/part-of": "taas-stack"}),
        rules=[
            client.V1PolicyRule(api_groups=groups, resources=resources, verbs=verbs)
            for groups, resources, verbs in rules
        ],
    )
    binding = client.V1ClusterRoleBinding(
        metadata=client.V1ObjectMeta(name=user, labels={"app.kubernetes.io/part-of": "taas-stack"}),
        role_ref=client.V1RoleRef(
            api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=user
        ),
        subjects=[
            client.RbacV1Subject(kind="ServiceAccount", name=user, namespace=namespace)
            if namespace
            else client.RbacV1Subject(api_group="rbac.authorization.k8s.io", kind="User", name=user)
        ],
    )
    with api_client(ctx) as api:
        rbac = client.RbacAuthorizationV1Api(api)
        _apply(rbac.create_cluster_role, rbac.replace_cluster_role, user, role)
        _apply(rbac.create_cluster_role_binding, rbac.replace_cluster_role_binding, user, binding)


def _apply(
    create: Callable[[Any], object], replace: Callable[[str, Any], object], name: str, body: Any
) -> None:
    try:
        create(body)
    except ApiException as exc:
        if exc.status != 409:
            raise
        replace(name, body)


def service_account_token(
    ctx: StackContext, namespace: str, name: str, rules: Sequence[Rule], lifetime_s: int
) -> str:
    """A token of the ServiceAccount ``namespace/name`` (made, with a ClusterRole of
    ``rules``, if missing), valid for ``lifetime_s``."""
    with api_client(ctx) as api:
        core = client.CoreV1Api(api)
        account = client.V1ServiceAccount(
            metadata=client.V1ObjectMeta(
                name=name, labels={"app.kubernetes.io/part-of": "taas-stack"}
            )
        )
        try:
            core.create_namespaced_service_account(namespace, account)
        except ApiException as exc:
            if exc.status != 409:
                raise
        ensure_cluster_role(ctx, name, rules, namespace=namespace)
        request = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=lifetime_s)
        )
        issued = core.create_namespaced_service_account_token(name, namespace, request)
    if issued.status is None:
        raise RuntimeError(f"the API server issued no token for {namespace}/{name}")
    return str(issued.status.token)
