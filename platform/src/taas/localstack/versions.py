"""Pinned versions of every server in the local stack. Change them here and nowhere else."""

from __future__ import annotations

from typing import Final

POSTGRES_MAJOR: Final = "15"
REDIS_MAJOR: Final = "7"
KUBERNETES: Final = "v1.36.3"
KUBERNETES_STAGING: Final = "v0.36.3"
ETCD: Final = "v3.6.16"
KWOK: Final = "v0.8.0"
MINIO: Final = (
    "v0.0.0-20260212201848-7aac2a2c5b7c"  # master of 2026-02-12; MinIO tags are not semver
)
KEYCLOAK: Final = "26.5.6"
MAVEN_DEPENDENCY_PLUGIN: Final = "3.8.1"
REGISTRY: Final = "v3.1.2"  # github.com/distribution/distribution/v3
CONTAINERD: Final = "1.6"  # Debian bookworm's containerd and runc (apt)
CRI_TOOLS: Final = "v1.36.0"  # crictl, to stop and remove the node's pods on `down`
COREDNS: Final = "v1.15.0"
METRICS_SERVER: Final = "v0.8.0"  # sigs.k8s.io/metrics-server: the approved release
KUBE_ROUTER: Final = "v2.1.0"  # its firewall only; the newest the module proxy serves
# kube-router's own pins of these carry reported vulnerabilities: built with their newest.
KUBE_ROUTER_UPGRADES: Final = (
    "golang.org/x/net",
    "golang.org/x/crypto",
    "golang.org/x/sys",
    "golang.org/x/text",
    "golang.org/x/oauth2",
)
