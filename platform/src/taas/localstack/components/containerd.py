"""containerd with runc: the container runtime of the stack's real node.

Its root, state, socket and CNI configuration live under the stack's state folder, so
nothing it makes is shared with another containerd on the machine. Images come from the
stack's registry (trusted through the stack's CA) and the pod sandbox image is the
stack's own ``pause``, pushed there at start.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from taas.kit.errors import ConfigurationError
from taas.kit.oci import RegistryClient
from taas.localstack import host, install, network, versions
from taas.localstack.components.base import Health, Port, ProcessComponent
from taas.localstack.components.registry import Registry
from taas.localstack.images import push_pause
from taas.localstack.process import terminate

CONTAINERD = Path("/usr/bin/containerd")
CTR = Path("/usr/bin/ctr")
RUNC = Path("/usr/sbin/runc")
CNI_BIN = Path("/usr/lib/cni")
APT = ["containerd", "cni", "netfilter", "gcc", "busybox", "mmdebstrap"]
K8S_NAMESPACE = "k8s.io"  # where the CRI plugin keeps Kubernetes' containers and images


class Containerd(ProcessComponent):
    """containerd (Debian) with the CRI plugin, runc and the CNI bridge of the node."""

    name = "containerd"
    title = "containerd"
    requires = ("registry",)
    fix_hint = "read its log; `taas stack down containerd` removes its containers and sandboxes"

    @property
    def version(self) -> str:
        return versions.CONTAINERD

    def ports(self) -> list[Port]:
        return []  # a unix socket only

    def installed(self) -> bool:
        return install.apt_installed(APT) and self.crictl.exists()

    def install(self) -> None:
        install.ensure_apt(self.ctx.log, self.ctx.paths, APT)
        install.go_install(
            self.ctx.log,
            self.ctx.paths,
            "crictl",
            "sigs.k8s.io/cri-tools/cmd/crictl",
            versions.CRI_TOOLS,
        )

    @property
    def crictl(self) -> Path:
        return self.ctx.paths.bin_dir("crictl", versions.CRI_TOOLS) / "crictl"

    def crictl_run(self, *args: str, timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(self.crictl),
                f"--runtime-endpoint={self.endpoint}",
                f"--image-endpoint={self.endpoint}",
                f"--timeout={int(timeout_s)}s",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=timeout_s + 10,
            check=False,
        )

    def stop(self) -> bool:
        """Stop and remove every pod (their network namespaces, veths and port mappings
        go with them), stop containerd, then remove what is left of the node: stray
        shims and container processes, mounts, cgroups, the ``KUBE-*`` iptables chains
        and ipsets kube-proxy and kube-router leave (kube-router's own clean-up does
        not remove them), the bridge and its fence."""
        if self.is_running() and self.crictl.exists():
            self.crictl_run("rmp", "--all", "--force")
        stopped = terminate(self.pid_file)
        if self.owns_node:  # another stack's node (or none) is not ours to clear
            host.kill(host.shim_pids(self.socket) | host.node_cgroup_pids())
            host.unmount_below(self.root)
            host.remove_node_cgroups()
            host.remove_iptables_chains()
            host.remove_ipsets()
            network.remove_bridge(self.ctx.paths.run)
            self.owner_marker.unlink()
        return stopped

    @property
    def owner_marker(self) -> Path:
        """Written when this stack sets up the machine's node network; ``down`` clears the
        node only when it is there."""
        return self.ctx.paths.run / "node.owner"

    @property
    def owns_node(self) -> bool:
        return self.owner_marker.exists()

    @property
    def root(self) -> Path:
        return self.ctx.paths.data(self.name)

    @property
    def socket(self) -> Path:
        return self.ctx.paths.run / "containerd.sock"

    @property
    def endpoint(self) -> str:
        return f"unix://{self.socket}"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "net.d"

    @property
    def config_path(self) -> Path:
        return self.root / "config.toml"

    def prepare(self) -> None:
        registry = Registry(self.ctx)
        with RegistryClient(registry.address, ca=self.ctx.pki.ca.cert) as client:
            pause = push_pause(self.ctx.log, self.ctx.paths, client)
        if network.bridge_exists() and not self.owns_node:
            raise ConfigurationError(
                f"the pod bridge {network.BRIDGE} exists but this stack did not make it: "
                "another stack (state folder) runs this machine's node",
                hint="one node per machine; stop the other stack's node with its "
                "`taas stack down containerd`",
            )
        self.owner_marker.write_text(str(self.ctx.paths.state))
        network.ensure_bridge(self.ctx.paths.run)
        for folder in (self.root / "root", self.root / "state", self.cni_conf_dir):
            folder.mkdir(parents=True, exist_ok=True)
        hosts = self.root / "certs.d" / registry.address
        hosts.mkdir(parents=True, exist_ok=True)
        (hosts / "hosts.toml").write_text(
            f'server = "https://{registry.address}"\n\n'
            f'[host."https://{registry.address}"]\n'
            '  capabilities = ["pull", "resolve"]\n'
            f'  ca = "{self.ctx.pki.ca.cert}"\n'
        )
        (self.cni_conf_dir / "10-taas.conflist").write_text(
            network.cni_config_json(self.root / "ipam")
        )
        self.config_path.write_text(self._config(pause))

    def _config(self, pause: str) -> str:
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        return f"""version = 2
root = "{self.root / "root"}"
state = "{self.root / "state"}"

[grpc]
  address = "{self.socket}"

[ttrpc]
  address = "{self.socket}.ttrpc"

[{cri}]
  sandbox_image = "{pause}"
  # The node's processes lack CAP_SYS_RESOURCE here: never lower a score below ours.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_cdi = false
  # Pods' network namespaces below the node's own state (``down`` unmounts them there),
  # out of reach of other tools that remount /run/netns (``ip netns add`` does).
  netns_mounts_under_state_dir = true

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  BinaryName = "{RUNC}"
  SystemdCgroup = false

[{cri}.cni]
  bin_dir = "{CNI_BIN}"
  conf_dir = "{self.cni_conf_dir}"
  max_conf_num = 1

[{cri}.registry]
  config_path = "{self.root / "certs.d"}"
"""

    def argv(self) -> list[str]:
        return [str(CONTAINERD), "--config", str(self.config_path)]

    def ctr(self, *args: str, timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CTR), "--address", str(self.socket), "--namespace", K8S_NAMESPACE, *args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        if not self.socket.exists():
            return Health(False, "no socket yet")
        try:
            out = self.ctr("version", timeout_s=5)
        except subprocess.TimeoutExpired:
            return Health(False, "ctr version timed out")
        if out.returncode != 0:
            return Health(False, out.stderr.strip()[:120])
        return Health(True, "ready", self.version)
