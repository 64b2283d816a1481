"""The real node's network: one Linux bridge for the pods, the CNI configuration that puts
them on it, and the fence that keeps pod traffic on this machine.

Everything here is named ``taas`` so ``taas stack down`` removes exactly what the stack
made: the bridge ``taas0``, the nftables table ``inet taas-node``, and ``ip_forward`` put
back as it was found.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path
from typing import Any

from taas.kit.errors import ConfigurationError

BRIDGE = "taas0"
POD_SUBNET = ipaddress.ip_network("10.244.0.0/24")
GATEWAY = "10.244.0.1"  # the bridge's address: the node itself, as pods see it
SERVICE_SUBNET = "10.96.0.0/16"
FENCE_TABLE = "taas-node"
_IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
_BRIDGE_NF = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    if check and done.returncode != 0:
        raise ConfigurationError(
            f"`{' '.join(argv)}` failed: {done.stderr.strip() or done.stdout.strip()}",
            hint="the node's network needs root and the bridge and nf_tables kernel features",
        )
    return done


def bridge_exists() -> bool:
    return Path(f"/sys/class/net/{BRIDGE}").exists()


def ensure_bridge(state: Path) -> None:
    """Make the pod bridge with the node's address on it, allow forwarding between pods
    (remembering the machine's setting for ``remove_bridge``) and fence it in."""
    if not bridge_exists():
        _run("ip", "link", "add", BRIDGE, "type", "bridge")
    addresses = _run("ip", "-o", "-4", "addr", "show", "dev", BRIDGE).stdout
    if f" {GATEWAY}/" not in addresses:
        _run("ip", "addr", "add", f"{GATEWAY}/{POD_SUBNET.prefixlen}", "dev", BRIDGE)
    _run("ip", "link", "set", BRIDGE, "up")
    saved = state / "ip_forward.saved"
    for setting, wanted in ((_IP_FORWARD, "1"), (_BRIDGE_NF, "1")):
        found = setting.read_text().strip()
        if found != wanted:
            if not saved.exists() and setting == _IP_FORWARD:
                saved.write_text(found)
            setting.write_text(wanted)
    _fence()


def _fence() -> None:
    """Pods talk to each other, to Services and to the node; nothing they send is
    forwarded to another interface, and nothing from outside is forwarded to them. A
    Service address that kube-proxy did not translate (a Service deleted, an address a
    client still holds) is refused on the spot: it must not follow the default route off
    the machine (where whatever answers would keep a client's pooled connection)."""
    ruleset = f"""
table inet {FENCE_TABLE} {{
  chain forward {{
    type filter hook forward priority -10; policy accept;
    iifname "{BRIDGE}" oifname != "{BRIDGE}" drop
    oifname "{BRIDGE}" iifname != "{BRIDGE}" drop
  }}
  chain output {{
    type filter hook output priority 0; policy accept;
    ip daddr {SERVICE_SUBNET} meta l4proto tcp reject with tcp reset
    ip daddr {SERVICE_SUBNET} reject
  }}
}}
"""
    _run("nft", "delete", "table", "inet", FENCE_TABLE, check=False)
    done = subprocess.run(
        ["nft", "-f", "-"], input=ruleset, capture_output=True, text=True, check=False, timeout=30
    )
    if done.returncode != 0:
        raise ConfigurationError(
            f"could not fence the pod network: {done.stderr.strip()}",
            hint="the node needs nftables (apt-get install -y nftables) and root",
        )


def refuse_pods(table: str, port: int) -> None:
    """Refuse pods' TCP connections to ``port`` on the node, in an nftables table of its
    own named ``table`` (its owner removes it with ``remove_table``): for a server on the
    bridge's address that only host processes may use. Pods reach the node through the
    bridge, so the rule matches what comes in on it, whatever address it was sent to."""
    ruleset = f"""
table inet {table} {{
  chain input {{
    type filter hook input priority 0; policy accept;
    iifname "{BRIDGE}" tcp dport {port} reject with tcp reset
  }}
}}
"""
    remove_table(table)
    done = subprocess.run(
        ["nft", "-f", "-"], input=ruleset, capture_output=True, text=True, check=False, timeout=30
    )
    if done.returncode != 0:
        raise ConfigurationError(
            f"could not refuse pods on port {port}: {done.stderr.strip()}",
            hint="the node needs nftables (apt-get install -y nftables) and root",
        )


def remove_table(table: str) -> bool:
    """Delete the nftables table ``inet table``; True if it was there."""
    return _run("nft", "delete", "table", "inet", table, check=False).returncode == 0


def remove_bridge(state: Path) -> list[str]:
    """Undo ``ensure_bridge``; what was removed."""
    removed = []
    if bridge_exists():
        _run("ip", "link", "delete", BRIDGE)
        removed.append(f"bridge {BRIDGE}")
    if _run("nft", "delete", "table", "inet", FENCE_TABLE, check=False).returncode == 0:
        removed.append(f"nftables table {FENCE_TABLE}")
    saved = state / "ip_forward.saved"
    if saved.exists():
        _IP_FORWARD.write_text(saved.read_text().strip())
        saved.unlink()
        removed.append("ip_forward restored")
    return removed


def cni_config(ipam_dir: Path) -> dict[str, Any]:
    """One bridge network, addresses from the pod subnet, no masquerade (pods never leave
    the machine), port mappings for hostPort."""
    return {
        "cniVersion": "1.0.0",
        "name": "taas",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": str(POD_SUBNET), "gateway": GATEWAY}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(ipam_dir),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def veths_on_bridge() -> list[str]:
    """Interfaces plugged into the pod bridge (one per running pod)."""
    folder = Path(f"/sys/class/net/{BRIDGE}/brif")
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def cni_config_json(ipam_dir: Path) -> str:
    return json.dumps(cni_config(ipam_dir), indent=2)
