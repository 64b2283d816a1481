"""Helpers of the tests that run pods on the stack's real node: the toolbox image, pods
under the ``restricted`` Pod Security standard, commands run inside them."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.stream import stream

from taas.kit.oci import RegistryClient
from taas.localstack import network
from taas.localstack.app_images import ImageBuilder, checkout, recipe
from taas.localstack.components import Registry
from taas.localstack.components.node import REAL_NODE_TAINT, node_name
from taas.localstack.images import push_toolbox
from taas.localstack.stack import LocalStack

# The exec streams' websocket (websocket-client, through the kubernetes client) leaves its
# TLS socket to the garbage collector after close(); nothing of ours leaks. Test modules
# that exec into pods set this as their ``pytestmark``.
EXEC_SOCKET_WARNING = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <ssl.SSLSocket:pytest.PytestUnraisableExceptionWarning"
)
WAIT_S = 90
TMP = "/tmp"  # noqa: S108 - the pod's own emptyDir (its root filesystem is read-only)


def push_toolbox_image(stack: LocalStack) -> str:
    registry = Registry(stack.ctx)
    with RegistryClient(registry.address, ca=stack.ctx.pki.ca.cert) as pushed_to:
        return push_toolbox(stack.ctx.paths, pushed_to)


def push_app_image(stack: LocalStack, name: str) -> str:
    """Build (layers cached) and push one of the checkout's images; its reference."""
    registry = Registry(stack.ctx)
    builder = ImageBuilder(stack.ctx.log, stack.ctx.paths, checkout())
    with RegistryClient(registry.address, ca=stack.ctx.pki.ca.cert) as pushed_to:
        return builder.push(recipe(name), pushed_to).reference


EXAMPLE_PLUGIN = Path(__file__).resolve().parents[1] / "services" / "example_plugin" / "app.py"


def example_image_manifest(image: str, name: str) -> dict[str, Any]:
    """The example plugin's manifest as its vendor prints it to ship ``image``, renamed."""
    printed = subprocess.run(
        [sys.executable, str(EXAMPLE_PLUGIN), "--manifest", "--image", image],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    body: dict[str, Any] = json.loads(printed.stdout) | {"name": name}
    return body


def make_namespace(core: client.CoreV1Api, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    labels = {
        "taas.io/test": "1",
        "pod-security.kubernetes.io/enforce": "restricted",
    }
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels))
    )
    return name


def restricted_context() -> client.V1SecurityContext:
    """A container's security context that the ``restricted`` standard admits, with a
    read-only root filesystem."""
    return client.V1SecurityContext(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        capabilities=client.V1Capabilities(drop=["ALL"]),
        seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
    )


def toolbox_pod(name: str, image: str, script: str, labels: dict[str, str]) -> client.V1Pod:
    restricted = restricted_context()
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1PodSpec(
            node_name=node_name(),
            tolerations=[client.V1Toleration(**REAL_NODE_TAINT, operator="Equal")],
            termination_grace_period_seconds=1,
            containers=[
                client.V1Container(
                    name="main",
                    image=image,
                    command=["/bin/busybox", "sh", "-c", script],
                    security_context=restricted,
                    volume_mounts=[client.V1VolumeMount(name="tmp", mount_path=TMP)],
                    ports=[client.V1ContainerPort(container_port=8080)],
                )
            ],
            volumes=[client.V1Volume(name="tmp", empty_dir=client.V1EmptyDirVolumeSource())],
        ),
    )


def running(core: client.CoreV1Api, namespace: str, name: str) -> client.V1Pod:
    deadline = time.monotonic() + WAIT_S
    while True:
        pod = core.read_namespaced_pod(name, namespace)
        if pod.status.phase == "Running" and pod.status.pod_ip:
            return pod
        if time.monotonic() > deadline:
            events = core.list_namespaced_event(
                namespace, field_selector=f"involvedObject.name={name}"
            )
            reasons = [f"{e.reason}: {e.message}" for e in events.items]
            pytest.fail(f"pod {namespace}/{name} is {pod.status.phase}; events: {reasons}")
        time.sleep(0.5)


SERVE = (
    "mkdir -p /tmp/www && echo served-by-$HOSTNAME > /tmp/www/index.html && "
    "echo listening && exec httpd -f -p 8080 -h /tmp/www"
)


def run_in(api: client.ApiClient, pod: client.V1Pod, script: str) -> str:
    """Run ``script`` in ``pod`` through the API server and the kubelet; its output."""
    session = stream(
        client.CoreV1Api(api).connect_get_namespaced_pod_exec,
        pod.metadata.name,
        pod.metadata.namespace,
        command=["/bin/busybox", "sh", "-c", f"{script} 2>&1; echo exit=$?"],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    try:
        session.run_forever(timeout=30)
        return str(session.read_all())
    finally:
        session.close()
        # Its TLS socket is freed by the garbage collector, not by close(): collect now, in
        # the test that made it (where EXEC_SOCKET_WARNING applies), not in a later one.
        gc.collect()


def http_get(api: client.ApiClient, pod: client.V1Pod, ip: str, port: int) -> str:
    """A GET from inside ``pod`` with busybox ``nc`` (its ``wget`` cannot resolve in a
    scratch image: static glibc's resolver crashes without its shared parts)."""
    request = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {ip} {port}"
    return run_in(api, pod, request)


def resolve(api: client.ApiClient, pod: client.V1Pod, name: str) -> str:
    """``name``'s address, asked of the cluster DNS from inside ``pod``."""
    answer = run_in(api, pod, f"nslookup {name} {network.GATEWAY}")
    after_name = answer.split(f"Name:\t{name}", 1)[-1]
    return after_name.split("Address: ", 1)[1].split()[0] if "Address: " in after_name else ""


def eventually(check: Callable[[], bool], tries: int = 10) -> bool:
    for _ in range(tries):
        if check():
            return True
        time.sleep(1)
    return False
