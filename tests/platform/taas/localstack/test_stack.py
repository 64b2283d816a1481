"""Pure logic of the stack: component selection and naming errors (no servers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from taas.kit.errors import ConfigurationError
from taas.kit.settings import StackSettings
from taas.localstack.context import StackContext
from taas.localstack.stack import LocalStack


@pytest.fixture
def stack(tmp_path: Path) -> LocalStack:
    return LocalStack(
        StackContext(StackSettings(cache_dir=tmp_path / "cache", state_dir=tmp_path / "state"))
    )


def test_selecting_nothing_means_everything_in_start_order(stack: LocalStack) -> None:
    names = [component.name for component in stack.select()]
    assert names[0] == "postgres"
    assert names.index("etcd") < names.index("kube-apiserver") < names.index("kwok")
    assert names.index("postgres") < names.index("keycloak")
    assert names.index("registry") < names.index("containerd") < names.index("kubelet")
    assert names.index("kubelet") < names.index("kube-proxy")
    assert names.index("minio") < names.index("node-relay")
    assert names.index("containerd") < names.index("node-relay")
    assert names.index("kubelet") < names.index("metrics-server")
    assert names[-1] == "node-relay"
    assert len(names) == 17


def test_selection_pulls_in_requirements(stack: LocalStack) -> None:
    names = [component.name for component in stack.select(["kwok"])]
    assert names == ["etcd", "kube-apiserver", "kwok"]
    assert [c.name for c in stack.select(["keycloak"])] == ["postgres", "keycloak"]
    assert [c.name for c in stack.select(["kubelet"])] == [
        "etcd",
        "kube-apiserver",
        "registry",
        "containerd",
        "kubelet",
    ]


def test_metrics_server_pulls_in_the_node_it_scrapes(stack: LocalStack) -> None:
    names = [c.name for c in stack.select(["metrics-server"])]
    assert names == [
        "etcd",
        "kube-apiserver",
        "registry",
        "containerd",
        "kubelet",
        "metrics-server",
    ]


def test_down_selection_does_not_pull_in_requirements(stack: LocalStack) -> None:
    assert [c.name for c in stack.select(["kwok"], with_requirements=False)] == ["kwok"]


def test_unknown_component_lists_the_known_ones(stack: LocalStack) -> None:
    with pytest.raises(ConfigurationError) as unknown:
        stack.select(["kafka"])
    assert "kafka" in unknown.value.message
    assert unknown.value.hint is not None
    assert "keycloak" in unknown.value.hint


def test_env_names_every_endpoint(stack: LocalStack) -> None:
    env = stack.env()
    assert env["TAAS_DATABASE_URL"].startswith("postgresql://taas:")
    assert env["TAAS_MINIO_ENDPOINT"] == "127.0.0.1:59000"
    assert env["KUBECONFIG"].endswith("kubeconfig")
    assert env["TAAS_KEYCLOAK_URL"] == "http://127.0.0.1:58080"
