"""The real node: kubelet (pods through containerd) and kube-proxy (Services as iptables
rules), built from the same Kubernetes source as the control plane.

The node is named after the machine's hostname (``logs`` and ``exec`` resolve it), joins
with a client certificate the Node authorizer accepts (``system:node:<name>`` in
``system:nodes``), and serves its API on loopback with a certificate of the stack's CA.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

from kubernetes import client

from taas.localstack import install, network, versions
from taas.localstack.components.base import BuiltComponent, Health, Port, http_probe
from taas.localstack.components.containerd import Containerd
from taas.localstack.components.kubernetes import write_kubeconfig
from taas.localstack.host import CGROUP_ROOT, ensure_node_cgroups, unmount_below
from taas.localstack.kube import api_client

NODE_GROUP = "system:nodes"
# Until modules run as pods, nothing the platform deploys may land here by accident.
REAL_NODE_TAINT = {"key": "taas.dev/real-node", "value": "true", "effect": "NoSchedule"}


def node_name() -> str:
    return socket.gethostname().lower()


class NodeBinary(BuiltComponent):
    """Shared parts of kubelet and kube-proxy."""

    @property
    def version(self) -> str:
        return versions.KUBERNETES

    @property
    def build_name(self) -> str:
        return "kubernetes-node"

    def install(self) -> None:
        install.build_kubernetes(
            self.ctx.log, self.ctx.paths, "kubernetes-node", install.NODE_BINARIES
        )

    @property
    def config_path(self) -> Path:
        return self.ctx.paths.data(self.name) / "config.yaml"

    def write_config(self, document: dict[str, Any]) -> Path:
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(document, indent=2))  # YAML is a superset
        return self.config_path


class Kubelet(NodeBinary):
    name = "kubelet"
    title = "kubelet"
    binary_name = "kubelet"
    requires = ("kube-apiserver", "containerd")
    fix_hint = "read its log; `taas stack status` says whether containerd is healthy"

    def ports(self) -> list[Port]:
        return [
            Port(self.ctx.settings.kubelet_port, "API (HTTPS)", "TAAS_KUBELET_PORT"),
            Port(self.ctx.settings.kubelet_healthz_port, "health", "TAAS_KUBELET_HEALTHZ_PORT"),
        ]

    @property
    def root_dir(self) -> Path:
        return self.ctx.paths.data(self.name) / "root"

    def prepare(self) -> None:
        pki, host = self.ctx.pki, self.ctx.host
        name = node_name()
        pki.client(self.name, f"system:node:{name}", NODE_GROUP)
        # The node's address is the bridge's (the kubelet refuses a loopback node IP): the
        # API server reaches it there for logs and exec; health stays on loopback.
        serving = pki.serving(self.name, network.GATEWAY)
        self.root_dir.mkdir(parents=True, exist_ok=True)
        ensure_node_cgroups()
        resolv = self.ctx.paths.data(self.name) / "resolv.conf"
        # Pods resolve through the cluster DNS only; the machine's resolvers are not theirs.
        resolv.write_text(f"nameserver {network.GATEWAY}\noptions ndots:5\n")
        self.write_config(
            {
                "apiVersion": "kubelet.config.k8s.io/v1beta1",
                "kind": "KubeletConfiguration",
                "address": network.GATEWAY,
                "port": self.ctx.settings.kubelet_port,
                "readOnlyPort": 0,
                "healthzBindAddress": host,
                "healthzPort": self.ctx.settings.kubelet_healthz_port,
                "tlsCertFile": str(serving.cert),
                "tlsPrivateKeyFile": str(serving.key),
                "authentication": {
                    "anonymous": {"enabled": False},
                    "webhook": {"enabled": True},
                    "x509": {"clientCAFile": str(pki.ca.cert)},
                },
                "authorization": {"mode": "Webhook"},
                "cgroupDriver": "cgroupfs",
                "cgroupRoot": CGROUP_ROOT,
                "failCgroupV1": False,
                "failSwapOn": False,
                "containerRuntimeEndpoint": Containerd(self.ctx).endpoint,
                "clusterDomain": "cluster.local",
                "clusterDNS": [network.GATEWAY],
                "resolvConf": str(resolv),
                "registerWithTaints": [REAL_NODE_TAINT],
                "serializeImagePulls": False,
                "maxPods": 110,
                "podCIDR": str(network.POD_SUBNET),
                # A small machine: evict only when the disk is really full.
                "evictionHard": {
                    "memory.available": "100Mi",
                    "nodefs.available": "2%",
                    "imagefs.available": "2%",
                },
                "imageGCHighThresholdPercent": 98,
                "imageGCLowThresholdPercent": 95,
                "localStorageCapacityIsolation": False,
                "protectKernelDefaults": False,
                "makeIPTablesUtilChains": False,
                "shutdownGracePeriod": "0s",
                "logging": {"format": "text"},
            }
        )

    def argv(self) -> list[str]:
        return [
            str(self.binary),
            f"--config={self.config_path}",
            f"--kubeconfig={write_kubeconfig(self.ctx, self.name)}",
            f"--root-dir={self.root_dir}",
            f"--hostname-override={node_name()}",
            f"--node-ip={network.GATEWAY}",
            "--v=1",
        ]

    def stop(self) -> bool:
        stopped = super().stop()
        # The pods' volumes (secrets, projected tokens) are tmpfs mounts below the root dir.
        unmount_below(self.root_dir)
        return stopped

    def node_ready(self) -> tuple[bool, str]:
        try:
            with api_client(self.ctx) as api:
                node = client.CoreV1Api(api).read_node(node_name(), _request_timeout=5)
                pods = (
                    client.CoreV1Api(api)
                    .list_pod_for_all_namespaces(
                        field_selector=f"spec.nodeName={node_name()}", _request_timeout=5
                    )
                    .items
                )
        except Exception as exc:  # the probe reports; it never raises
            return False, f"node {node_name()} not registered ({type(exc).__name__})"
        conditions = node.status.conditions if node.status else None
        ready = any(c.type == "Ready" and c.status == "True" for c in conditions or [])
        running = sum(1 for pod in pods if pod.status and pod.status.phase == "Running")
        state = "Ready" if ready else "NotReady"
        return ready, f"node {node_name()} {state}, {running} pods running"

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        url = f"http://{self.ctx.host}:{self.ctx.settings.kubelet_healthz_port}/healthz"
        ok, detail, _ = http_probe(url, expect="ok")
        if not ok:
            return Health(False, detail)
        ready, detail = self.node_ready()
        return Health(ready, detail, self.version if ready else None)


class KubeProxy(NodeBinary):
    name = "kube-proxy"
    title = "kube-proxy"
    binary_name = "kube-proxy"
    requires = ("kubelet",)

    def ports(self) -> list[Port]:
        return [
            Port(
                self.ctx.settings.kube_proxy_healthz_port, "health", "TAAS_KUBE_PROXY_HEALTHZ_PORT"
            ),
            Port(
                self.ctx.settings.kube_proxy_metrics_port, "metrics", "TAAS_KUBE_PROXY_METRICS_PORT"
            ),
        ]

    def prepare(self) -> None:
        self.ctx.pki.client(self.name, "system:kube-proxy")
        host = self.ctx.host
        self.write_config(
            {
                "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
                "kind": "KubeProxyConfiguration",
                "mode": "iptables",
                "clientConnection": {"kubeconfig": str(write_kubeconfig(self.ctx, self.name))},
                "hostnameOverride": node_name(),
                "bindAddress": host,
                "healthzBindAddress": f"{host}:{self.ctx.settings.kube_proxy_healthz_port}",
                "metricsBindAddress": f"{host}:{self.ctx.settings.kube_proxy_metrics_port}",
                "clusterCIDR": str(network.POD_SUBNET),
                # Leave the machine's conntrack table size alone.
                "conntrack": {"maxPerCore": 0, "min": 0},
                "nodePortAddresses": [f"{host}/32"],
            }
        )

    def argv(self) -> list[str]:
        return [str(self.binary), f"--config={self.config_path}", "--v=1"]

    def stop(self) -> bool:
        stopped = super().stop()
        if stopped:
            # Its iptables chains (KUBE-*) outlive it unless it is asked to remove them.
            subprocess.run(
                [str(self.binary), "--cleanup", f"--config={self.config_path}"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        return stopped

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        url = f"http://{self.ctx.host}:{self.ctx.settings.kube_proxy_healthz_port}/healthz"
        ok, detail, _ = http_probe(url)
        return Health(ok, "ready" if ok else detail, self.version if ok else None)
