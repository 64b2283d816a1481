"""The platform's own images (API, worker, gateway) on the real node: admitted by a namespace
that enforces the ``restricted`` Pod Security standard, they run as a non-root user on a
read-only root filesystem, and every library the control plane imports is in them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from kubernetes import client

from node_support import make_namespace, push_app_image, restricted_context
from taas.localstack.components.node import REAL_NODE_TAINT, node_name
from taas.localstack.kube import api_client
from taas.localstack.stack import LocalStack

CHECK = """
import os, pathlib
import celery, kubernetes, minio, psycopg, uvicorn, keycloak, sqlalchemy
import taas.cli, taas.gateway.asgi, taas.operations.runner
assert os.getuid() != 0, "runs as root"
try:
    pathlib.Path("/opt/taas/written").write_text("x")
except OSError:
    pass
else:
    raise SystemExit("the root filesystem is writable")
pathlib.Path("/tmp/written").write_text("x")
print("checked as uid", os.getuid())
"""


@pytest.fixture(scope="module")
def core(stack: LocalStack) -> Iterator[client.CoreV1Api]:
    with api_client(stack.ctx) as api:
        yield client.CoreV1Api(api)


def _pod(name: str, image: str) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(
            node_name=node_name(),
            tolerations=[client.V1Toleration(**REAL_NODE_TAINT, operator="Equal")],
            restart_policy="Never",
            containers=[
                client.V1Container(
                    name="main",
                    image=image,
                    args=["-c", CHECK],  # the image's own interpreter, as its entry point
                    security_context=restricted_context(),
                    volume_mounts=[client.V1VolumeMount(name="tmp", mount_path="/tmp")],  # noqa: S108
                )
            ],
            volumes=[client.V1Volume(name="tmp", empty_dir=client.V1EmptyDirVolumeSource())],
        ),
    )


@pytest.mark.parametrize("name", ["api", "worker", "gateway"])
def test_a_platform_image_runs_restricted_with_everything_it_imports(
    name: str, stack: LocalStack, core: client.CoreV1Api
) -> None:
    image = push_app_image(stack, name)
    namespace = make_namespace(core, f"image-{name}")
    try:
        core.create_namespaced_pod(namespace, _pod(name, image))  # admission: restricted
        deadline = time.monotonic() + 120
        phase = ""
        while phase not in ("Succeeded", "Failed"):
            assert time.monotonic() < deadline, f"the {name} image's pod is still {phase}"
            time.sleep(1)
            phase = str(core.read_namespaced_pod(name, namespace).status.phase)
        log = core.read_namespaced_pod_log(name, namespace)
        assert phase == "Succeeded", log
        assert "checked as uid 65534" in log
    finally:
        core.delete_namespace(namespace, grace_period_seconds=0)
