"""Module workloads on Kubernetes: what a subscription deploys.

``silo`` and ``dedicated`` tenants get the module's own Deployment and Service in their
namespace. ``pool`` tenants share one Deployment per module version in the modules
namespace; each subscription adds a NetworkPolicy there (the tenant's path: it admits the
gateway, and records that the tenant uses the workload). The shared Deployment goes when
the last pool subscription to that version does.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from taas.integrations.kubernetes import KubernetesTenants
from taas.integrations.spec import ModuleSpec, TenantSpec
from taas.kit.errors import PermanentError, TemporaryError
from taas.kit.quantities import cpu_text, memory_text, millicores
from taas.kit.telemetry import traced

PLACEHOLDER_IMAGE = "taas.invalid/plugins/{name}:{version}"
REVISION = "deployment.kubernetes.io/revision"
AUTOSCALING = "autoscaling/v2"
DRAIN_S = 5
BURST = 4  # a module's default CPU limit, in multiples of its request
SIGNING_KEY = "signing-secret"
SECCOMP = {"type": "RuntimeDefault"}
RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": SECCOMP,
}
MODULE_LABEL = "taas.io/module"
SHARED_LABEL = "taas.io/module-workload"
TENANT_LABEL = "taas.io/tenant"


def _labels(module: ModuleSpec, workload: str) -> dict[str, str]:
    return {MODULE_LABEL: module.name, SHARED_LABEL: workload, "taas.io/version": _v(module)}


def _signing(workload: str) -> str:
    return f"{workload}-signing"[:253]


@dataclass(frozen=True)
class Placement:
    """Where module pods run and how long a subscription waits for them to be Ready."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: Sequence[Mapping[str, str]] = ()
    ready_timeout_s: float = 120.0
    platform_url: str = ""  # the API as pods reach it (TAAS_PLATFORM_URL), if they may
    egress: Sequence[Mapping[str, Any]] = ()  # what module pods may reach (policy rules)


def _v(module: ModuleSpec) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in module.version)[:63]


class ModuleWorkloads:
    """Deploys and removes module workloads for subscriptions."""

    def __init__(self, kubernetes: KubernetesTenants, placement: Placement | None = None) -> None:
        self.kube = kubernetes
        self.placement = placement or Placement()

    @property
    def shared_namespace(self) -> str:
        return self.kube.modules_namespace

    def service_url(self, spec: TenantSpec, module: ModuleSpec) -> str:
        """The in-cluster address of the module for this tenant."""
        if spec.isolated:
            host = f"{module.workload}.{spec.namespace}"
        else:
            host = f"{module.shared_workload}.{self.shared_namespace}"
        return f"http://{host}.svc.cluster.local:{module.port}"

    def deployment(self, module: ModuleSpec, name: str) -> dict[str, Any]:
        """A Deployment that passes the ``restricted`` pod security standard.

        A module with an image runs it on the nodes the placement names, behind a readiness
        probe on its health path, with a read-only root filesystem and the vendor's signing
        secret from a Secret; rollouts add a Ready pod before one goes. A module without an
        image (a vendor's development process, reached by URL) gets a placeholder workload.
        """
        labels = _labels(module, name)
        if module.image is None:
            return self._placeholder(module, name, labels)
        memory = memory_text(module.memory)
        container: dict[str, Any] = {
            "name": "module",
            "image": module.image,
            "ports": [{"containerPort": module.port, "name": "http"}],
            "env": self._env(name),
            "readinessProbe": {
                "httpGet": {"path": module.health_path, "port": "http"},
                "periodSeconds": 1,
                "failureThreshold": 2,
                "timeoutSeconds": 2,
            },
            "resources": {
                "requests": {"cpu": cpu_text(millicores(module.cpu)), "memory": memory},
                "limits": {"cpu": cpu_limit(module), "memory": memory},
            },
            "securityContext": {**RESTRICTED, "readOnlyRootFilesystem": True},
            # A pod going away first leaves its Service's endpoints while still serving
            # (kube-proxy and the gateways catch up), and only then is asked to stop.
            "lifecycle": {"preStop": {"sleep": {"seconds": DRAIN_S}}},
            "terminationMessagePolicy": "FallbackToLogsOnError",  # the log's end, on a crash
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - the pod's own
        }
        pod: dict[str, Any] = {
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": DRAIN_S + 10,  # then 10 s to finish its calls
            "securityContext": {"runAsNonRoot": True, "seccompProfile": SECCOMP},
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
        }
        if self.placement.node_selector:
            pod["nodeSelector"] = dict(self.placement.node_selector)
        if self.placement.tolerations:
            pod["tolerations"] = [dict(one) for one in self.placement.tolerations]
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "replicas": module.replicas,
                "revisionHistoryLimit": 2,
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
                },
                "selector": {"matchLabels": {SHARED_LABEL: name}},
                "template": {"metadata": {"labels": labels}, "spec": pod},
            },
        }

    def _env(self, name: str) -> list[dict[str, Any]]:
        secret = {"secretKeyRef": {"name": _signing(name), "key": SIGNING_KEY}}
        env: list[dict[str, Any]] = [{"name": "TAAS_SIGNING_SECRET", "valueFrom": secret}]
        if self.placement.platform_url:
            env.append({"name": "TAAS_PLATFORM_URL", "value": self.placement.platform_url})
        return env

    @staticmethod
    def autoscaler(module: ModuleSpec, name: str) -> dict[str, Any]:
        """Adds replicas (up to the manifest's ``max_replicas``) while the pods' average CPU
        use is above ``cpu_target_percent`` of their request, and takes them away after."""
        target = {"type": "Utilization", "averageUtilization": module.cpu_target_percent}
        return {
            "apiVersion": AUTOSCALING,
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "labels": _labels(module, name)},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": module.replicas,
                "maxReplicas": module.max_replicas,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": target}}],
            },
        }

    def egress_policy(self, module: ModuleSpec, name: str) -> dict[str, Any]:
        """What the module's pods may reach: the placement's egress rules, nothing else."""
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            # Not labelled as a path (SHARED_LABEL): paths are what keep a shared workload.
            "metadata": {"name": f"{name}-egress"[:63], "labels": {MODULE_LABEL: module.name}},
            "spec": {
                "podSelector": {"matchLabels": {SHARED_LABEL: name}},
                "policyTypes": ["Egress"],
                "egress": [dict(rule) for rule in self.placement.egress],
            },
        }

    @staticmethod
    def _placeholder(module: ModuleSpec, name: str, labels: dict[str, str]) -> dict[str, Any]:
        image = PLACEHOLDER_IMAGE.format(name=module.name, version=_v(module))
        memory = memory_text(module.memory)
        container: dict[str, Any] = {
            "name": "module",
            "image": image,
            "ports": [{"containerPort": module.port, "name": "http"}],
            "resources": {
                "requests": {"cpu": cpu_text(millicores(module.cpu)), "memory": memory},
                "limits": {"cpu": cpu_limit(module), "memory": memory},
            },
            "securityContext": {**RESTRICTED, "runAsUser": 10001},
        }
        annotations = {"taas.io/upstream": module.upstream_url} if module.upstream_url else {}
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "labels": labels, "annotations": annotations},
            "spec": {
                "replicas": module.replicas,
                "selector": {"matchLabels": {SHARED_LABEL: name}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"automountServiceAccountToken": False, "containers": [container]},
                },
            },
        }

    @staticmethod
    def signing_secret(module: ModuleSpec, name: str, value: str) -> dict[str, Any]:
        """The vendor's signing secret, for the module's pods to check the gateway's
        signature with."""
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": _signing(name), "labels": _labels(module, name)},
            "data": {SIGNING_KEY: base64.b64encode(value.encode()).decode()},
        }

    def service(self, module: ModuleSpec, name: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "labels": _labels(module, name)},
            "spec": {
                "selector": {SHARED_LABEL: name},
                "ports": [{"name": "http", "port": module.port, "targetPort": "http"}],
            },
        }

    def path_policy(self, spec: TenantSpec, module: ModuleSpec) -> dict[str, Any]:
        """Pool: the tenant's path to the shared module. Its rule admits the gateway's
        namespace only (a bank reaches modules through the gateway, which checks its token
        and scopes); the policy also records that the tenant uses the workload."""
        name = f"{module.name}-{spec.slug}"[:63]
        labels = {**_labels(module, module.shared_workload), TENANT_LABEL: spec.slug}

        def from_namespace(namespace: str) -> dict[str, Any]:
            return {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
            }

        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "podSelector": {"matchLabels": {SHARED_LABEL: module.shared_workload}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [from_namespace(self.kube.gateway_namespace)],
                        "ports": [{"protocol": "TCP", "port": module.port}],
                    }
                ],
            },
        }

    def _ensure_shared_namespace(self) -> list[str]:
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": self.shared_namespace,
                "labels": {
                    "taas.io/role": "modules",
                    "pod-security.kubernetes.io/enforce": "restricted",
                },
            },
        }
        change = self.kube.apply(body, None, field="metadata")
        return [change] if change else []

    def location(self, spec: TenantSpec, module: ModuleSpec) -> tuple[str, str]:
        """(namespace, name) of the workload that serves ``module`` to this tenant."""
        if spec.isolated:
            return spec.namespace, module.workload
        return self.shared_namespace, module.shared_workload

    @traced("kubernetes.ensure_module")
    def ensure(self, spec: TenantSpec, module: ModuleSpec, signing_secret: str = "") -> list[str]:
        """Deploy (or update) the module for the tenant; return what changed."""
        namespace, name = self.location(spec, module)
        bodies = [self._scaled(module, name, namespace), self.service(module, name)]
        changes: list[str | None] = [] if spec.isolated else [*self._ensure_shared_namespace()]
        if not spec.isolated:
            bodies.append(self.path_policy(spec, module))
        if module.image is not None:
            secret = self.signing_secret(module, name, signing_secret)
            changes.append(self.kube.apply(secret, namespace, field="data"))
            bodies.append(self.egress_policy(module, name))
            if module.autoscaled:
                bodies.append(self.autoscaler(module, name))
            else:
                scaler = (AUTOSCALING, "HorizontalPodAutoscaler", name, namespace)
                changes.append(self.kube.delete(*scaler))
        for body in bodies:
            changes.append(self.kube.apply(body, namespace))
        return [change for change in changes if change]

    def _scaled(self, module: ModuleSpec, name: str, namespace: str) -> dict[str, Any]:
        """The Deployment; an autoscaled one keeps the replicas its autoscaler set (within
        the manifest's bounds), so that applying the manifest again undoes no scale-up."""
        deployment = self.deployment(module, name)
        if module.image is None or not module.autoscaled:
            return deployment
        current = self.kube.read("apps/v1", "Deployment", name, namespace)
        if current is not None:
            replicas = int(current["spec"].get("replicas") or module.replicas)
            most = module.max_replicas or module.replicas
            deployment["spec"]["replicas"] = min(max(replicas, module.replicas), most)
        return deployment

    @traced("kubernetes.module_ready")
    def wait_ready(self, spec: TenantSpec, module: ModuleSpec) -> list[str]:
        """Wait until the workload's pods of this version are Ready (a rollout done); fail
        with the pods' own reason (image pull, crash, readiness) when they cannot be."""
        if module.image is None:
            return []
        namespace, name = self.location(spec, module)
        return self.wait_rollout(namespace, name, module)

    def wait_rollout(self, namespace: str, name: str, module: ModuleSpec) -> list[str]:
        """Wait for the Deployment ``namespace/name`` of ``module`` to be rolled out."""
        timeout_s = self.placement.ready_timeout_s
        deadline = time.monotonic() + timeout_s
        while True:
            deployment = self.kube.read("apps/v1", "Deployment", name, namespace)
            if deployment is None:
                raise TemporaryError(f"Deployment {namespace}/{name} is gone", delay=1)
            if rolled_out(deployment):
                ready = deployment["status"].get("readyReplicas", 0)
                return [f"{namespace}/{name}: {ready} pod(s) Ready"]
            pods = self._current_pods(namespace, name, deployment)
            problem = pod_problem(pods)
            if problem is not None:
                raise PermanentError(
                    f"{module.name} {module.version} cannot run: {problem}",
                    hint="check the image reference and its registry, and run the image "
                    "locally to see why it stops or never answers its health path",
                )
            if time.monotonic() > deadline:
                why = self._not_ready_reason(namespace, pods)
                raise PermanentError(
                    f"{module.name} {module.version} was not Ready after {timeout_s:.0f}s: {why}",
                    hint=f"the module must answer GET {module.health_path} with 200 on port "
                    f"{module.port}",
                )
            time.sleep(0.5)

    def _current_pods(
        self, namespace: str, name: str, deployment: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The live pods of the Deployment's current template: not those of a version it
        is rolling away from, nor those of an earlier Deployment of the same name that are
        still going away (a version's last subscriber left and a new one came)."""
        selector = f"{SHARED_LABEL}={name}"
        uid = deployment["metadata"].get("uid")
        revision = (deployment["metadata"].get("annotations") or {}).get(REVISION)
        current = {
            rs["metadata"]["uid"]
            for rs in self.kube.list_objects("apps/v1", "ReplicaSet", namespace, selector)
            if any(owner.get("uid") == uid for owner in rs["metadata"].get("ownerReferences") or [])
            and (rs["metadata"].get("annotations") or {}).get(REVISION) == revision
        }
        return [
            pod
            for pod in self.kube.list_objects("v1", "Pod", namespace, selector)
            if not pod["metadata"].get("deletionTimestamp")
            and any(
                owner.get("uid") in current
                for owner in pod["metadata"].get("ownerReferences") or []
            )
        ]

    def _not_ready_reason(self, namespace: str, pods: list[dict[str, Any]]) -> str:
        for pod in pods:
            for condition in pod.get("status", {}).get("conditions") or []:
                if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
                    return f"not scheduled: {condition.get('message', '')}"
            events = self.kube.list_objects(
                "v1", "Event", namespace, fields=f"involvedObject.name={pod['metadata']['name']}"
            )
            unhealthy = [event for event in events if event.get("reason") == "Unhealthy"]
            if unhealthy:
                return f"readiness probe: {unhealthy[-1].get('message', '')}"
        return "no pod became Ready" if pods else "no pod was created"

    @traced("kubernetes.remove_module")
    def remove(self, spec: TenantSpec, module: ModuleSpec) -> list[str]:
        """Remove the tenant's deployment of the module (pool: its path, and the shared
        workload when no other tenant uses that version)."""
        changes: list[str | None] = []
        if spec.isolated:
            changes += self._delete_workload(module.workload, spec.namespace)
        else:
            policy = self.path_policy(spec, module)["metadata"]["name"]
            ns = self.shared_namespace
            changes.append(self.kube.delete("networking.k8s.io/v1", "NetworkPolicy", policy, ns))
            changes += self.prune_shared(module)
        return [change for change in changes if change]

    def remove_workload(self, namespace: str, name: str) -> list[str]:
        """Remove one workload and the paths that lead to it (an orphan's clean-up)."""
        changes = self._delete_workload(name, namespace)
        policy = ("networking.k8s.io/v1", "NetworkPolicy")
        for path in self.kube.list_names(*policy, namespace, f"{SHARED_LABEL}={name}"):
            changes.append(self.kube.delete(*policy, path, namespace))
        return [change for change in changes if change]

    def _delete_workload(self, name: str, namespace: str) -> list[str | None]:
        egress = f"{name}-egress"[:63]
        return [
            self.kube.delete(AUTOSCALING, "HorizontalPodAutoscaler", name, namespace),
            self.kube.delete("v1", "Service", name, namespace),
            self.kube.delete("apps/v1", "Deployment", name, namespace),
            self.kube.delete("v1", "Secret", _signing(name), namespace),
            self.kube.delete("networking.k8s.io/v1", "NetworkPolicy", egress, namespace),
        ]

    def prune_shared(self, module: ModuleSpec) -> list[str | None]:
        """Delete a version's shared workload once no pool subscription opens a path to it."""
        name = module.shared_workload
        ns = self.shared_namespace
        users = self.kube.list_names(
            "networking.k8s.io/v1", "NetworkPolicy", ns, f"{SHARED_LABEL}={name},{TENANT_LABEL}"
        )
        if users:
            return []
        return self._delete_workload(name, ns)

    def exists(self, spec: TenantSpec, module: ModuleSpec) -> bool:
        if spec.isolated:
            return self.kube.object_exists(spec, "apps/v1", "Deployment", module.workload)
        policy = self.path_policy(spec, module)["metadata"]["name"]
        names = self.kube.list_names(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            self.shared_namespace,
            f"{TENANT_LABEL}={spec.slug}",
        )
        return policy in names

    @traced("kubernetes.remove_tenant_module_paths")
    def remove_tenant_paths(self, spec: TenantSpec) -> list[str]:
        """Offboarding: close every path the tenant had to shared modules, and remove the
        shared workloads no other tenant has a path to. The workloads go first: should the
        worker die in between, the paths still there say which workloads to look at when
        the step runs again."""
        ns = self.shared_namespace
        policy = ("networking.k8s.io/v1", "NetworkPolicy")
        paths = self.kube.list_labels(*policy, ns, f"{TENANT_LABEL}={spec.slug}")
        changes: list[str | None] = []
        workloads = {labels[SHARED_LABEL] for labels in paths.values() if SHARED_LABEL in labels}
        for workload in sorted(workloads):
            others = set(
                self.kube.list_names(*policy, ns, f"{SHARED_LABEL}={workload},{TENANT_LABEL}")
            )
            if not others - set(paths):
                changes += self._delete_workload(workload, ns)
        changes += [self.kube.delete(*policy, name, ns) for name in paths]
        return [change for change in changes if change]


def rolled_out(deployment: dict[str, Any]) -> bool:
    """True when the Deployment's current template runs on all its replicas, all Ready,
    and no pod of an older template is left (what ``kubectl rollout status`` waits for)."""
    wanted = int(deployment["spec"].get("replicas", 1))
    status = deployment.get("status") or {}
    updated = int(status.get("updatedReplicas") or 0)
    return (
        int(status.get("observedGeneration") or 0) >= int(deployment["metadata"]["generation"])
        and updated >= wanted
        and int(status.get("replicas") or 0) == updated
        and int(status.get("availableReplicas") or 0) >= wanted
    )


# Container states that do not get better by waiting.
FATAL_WAITING = {
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
}


def pod_problem(pods: list[dict[str, Any]]) -> str | None:
    """The first pod whose container cannot start or has stopped, as its reason (with the
    end of its log, which the container's termination message falls back to).

    A container of a Deployment's pod is always restarted, so one that has ended at all
    (exited, killed for memory) is a failure; the kubelet does not always report the
    ``CrashLoopBackOff`` wait between restarts, so the ended state itself is read."""
    for pod in pods:
        for status in pod.get("status", {}).get("containerStatuses") or []:
            state = status.get("state") or {}
            waiting = state.get("waiting") or {}
            ended = state.get("terminated") or (
                (status.get("lastState") or {}).get("terminated")
                if int(status.get("restartCount") or 0) > 0
                else None
            )
            if ended:
                output = (ended.get("message") or "").strip()
                reason = f"exited with code {ended.get('exitCode')} ({ended.get('reason', '')})"
                return f"{reason}: {output[-400:]}" if output else reason
            if waiting.get("reason") in FATAL_WAITING:
                message = (waiting.get("message") or "").strip()
                return f"{waiting['reason']}: {message}"[:500].strip()
    return None


def cpu_limit(module: ModuleSpec) -> str:
    """The manifest's ``cpu_limit``, or else four times its request: a module idles most
    of the time and bursts on calls (and on start), so it may use more than it reserves,
    within its bank's quota of limits."""
    if module.cpu_limit is not None:
        return cpu_text(millicores(module.cpu_limit))
    return cpu_text(millicores(module.cpu) * BURST)
