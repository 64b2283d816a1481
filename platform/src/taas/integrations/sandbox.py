"""A plugin image started for its validation, in a namespace of its own.

The namespace admits Pod Security ``restricted`` pods only and denies every egress: the
plugin under test answers the platform's checks and reaches nothing itself, except the
storage path (the API's credential exchange, object storage, DNS) when its manifest
declares storage access. The checks
call the pod at its own address (the worker runs on a node of the cluster, or beside the
local stack's node). The namespace goes when the checks end, and again, idempotently, in
the validation's last step, so a worker that died mid-check leaves nothing running.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from taas.integrations.spec import ModuleSpec
from taas.integrations.workloads import SHARED_LABEL, ModuleWorkloads
from taas.kit.errors import PermanentError
from taas.kit.telemetry import tracer

SANDBOX_LABEL = "taas.io/sandbox"


def sandbox_namespace(version_id: uuid.UUID) -> str:
    return f"taas-sandbox-{version_id.hex[:16]}"


class PluginSandbox:
    """Starts, addresses and removes one plugin version's validation sandbox."""

    def __init__(self, modules: ModuleWorkloads) -> None:
        self.modules = modules
        self.kube = modules.kube

    def _namespace(self, name: str, version_id: uuid.UUID) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "labels": {
                    SANDBOX_LABEL: version_id.hex,
                    "pod-security.kubernetes.io/enforce": "restricted",
                },
            },
        }
        self.kube.apply(body, None, field="metadata")
        no_egress = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "sandbox"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": []},
        }
        self.kube.apply(no_egress, name)

    @contextmanager
    def running(
        self, version_id: uuid.UUID, module: ModuleSpec, signing_secret: str
    ) -> Iterator[str]:
        """Start the image, wait until it is Ready, yield its base URL; remove it after."""
        namespace = sandbox_namespace(version_id)
        name = module.workload
        try:
            with tracer().start_as_current_span("plugin.sandbox_start"):
                self._namespace(namespace, version_id)
                self.kube.apply(
                    self.modules.signing_secret(module, name, signing_secret),
                    namespace,
                    field="data",
                )
                if module.uses_storage:  # the only egress a sandbox gets, when declared
                    self.kube.apply(self.modules.egress_policy(module, name), namespace)
                self.kube.apply(self.modules.deployment(module, name), namespace)
                self.modules.wait_rollout(namespace, name, module)
            pods = self.kube.list_objects("v1", "Pod", namespace, f"{SHARED_LABEL}={name}")
            ready = [pod for pod in pods if (pod.get("status") or {}).get("podIP")]
            if not ready:
                raise PermanentError(f"{module.image} is Ready but has no pod address")
            yield f"http://{ready[0]['status']['podIP']}:{module.port}"
        finally:
            self.remove(version_id)

    def remove(self, version_id: uuid.UUID) -> list[str]:
        change = self.kube.delete("v1", "Namespace", sandbox_namespace(version_id), None)
        return [change] if change else []
