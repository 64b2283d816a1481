"""Hot-plug on the real stack: two real plugin processes (versions 1 and 2), a bank calling
all the time, and the version changes made through the API.

"Acknowledged" means: the API has answered (the revoke call returned, the upgrade's
operation succeeded) and the gateway has applied every route change committed before it
(``GatewayProcess.sync``, a barrier sent through the same notification channel). The
time between the two is the hot-plug bound measured by ``benchmarks/hotplug.py``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from catalog_support import VendorAccount, subscribe, wait_version
from gateway_support import GatewayProcess
from plugin_app import PluginBehaviour, PluginServer, manifest
from support import systems_token, unique_slug, wait_for

MakeTenant = Callable[..., dict[str, Any]]


@dataclass
class Traffic:
    """Calls made one after the other by a few threads; each remembers its phase at start."""

    url: str
    token: str
    phase: int = 0
    calls: list[tuple[int, str, int]] = field(default_factory=list)  # phase, request id, status
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                phase, request_id = self.phase, uuid.uuid4().hex
                response = client.post(
                    self.url,
                    json={"amount": 20000},
                    headers={"Authorization": f"Bearer {self.token}", "X-Request-Id": request_id},
                )
                with self.lock:
                    self.calls.append((phase, request_id, response.status_code))

    def count(self, phase: int) -> int:
        with self.lock:
            return sum(1 for call in self.calls if call[0] == phase)

    def wait_calls(self, phase: int, at_least: int = 20) -> None:
        wait_for(lambda: self.count(phase) >= at_least, timeout=60, what=f"calls in phase {phase}")

    def of_phase(self, phase: int) -> list[tuple[int, str, int]]:
        with self.lock:
            return [call for call in self.calls if call[0] == phase]


@pytest.fixture
def vendor(make_vendor: Callable[[], VendorAccount]) -> VendorAccount:
    return make_vendor()


@pytest.fixture
def servers(vendor: VendorAccount) -> Iterator[tuple[PluginServer, PluginServer]]:
    secret = vendor.credentials["signing_secret"]
    with (
        PluginServer(PluginBehaviour(signing_secret=secret)) as first,
        PluginServer(PluginBehaviour(signing_secret=secret)) as second,
    ):
        yield first, second


def _publish(
    api: Any,
    operator: dict[str, str],
    vendor: VendorAccount,
    server: PluginServer,
    name: str,
    version: str,
) -> None:
    body = manifest(name, version, server.url)
    submitted = api.post(f"/v1/vendors/{vendor.slug}/plugins", json=body, headers=vendor.headers())
    assert submitted.status_code == 202, submitted.text
    validated = wait_version(api, operator, name, version, {"validated", "invalid"})
    assert validated["status"] == "validated", validated["validation"]
    approved = api.post(f"/v1/plugins/{name}/versions/{version}/approve", json={}, headers=operator)
    assert approved.status_code == 200, approved.text


def _served_by(request_id: str, first: PluginServer, second: PluginServer) -> set[str]:
    """Which plugin process(es) saw the call."""
    where = set()
    for label, server in (("1.0.0", first), ("2.0.0", second)):
        if any(seen.get("x-taas-request-id") == request_id for seen in server.behaviour.seen):
            where.add(label)
    return where


def test_upgrade_moves_traffic_and_revoke_stops_it_with_calls_in_flight(
    api: Any,
    operator: dict[str, str],
    gateway: GatewayProcess,
    make_tenant: MakeTenant,
    vendor: VendorAccount,
    servers: tuple[PluginServer, PluginServer],
) -> None:
    first, second = servers
    module = unique_slug("hp")
    _publish(api, operator, vendor, first, module, "1.0.0")
    bank = make_tenant()["tenant"]
    subscribe(api, operator, bank, module)  # the stable channel
    traffic = Traffic(f"{gateway.url}/t/{bank['slug']}/{module}/score", systems_token(bank))
    gateway.sync()
    threads = [threading.Thread(target=traffic.run, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        traffic.wait_calls(0)

        # Publish 2.0.0: the stable channel moves the bank. Acknowledged once the API shows
        # the subscription on 2.0.0 and the gateway has applied what was committed.
        _publish(api, operator, vendor, second, module, "2.0.0")

        def upgraded() -> bool:
            sub = api.get(f"/v1/tenants/{bank['id']}/subscriptions/{module}", headers=operator)
            return bool(sub.json()["version"] == "2.0.0" and sub.json()["status"] == "active")

        wait_for(upgraded, timeout=120, what="the subscription to move to 2.0.0")
        gateway.sync()
        traffic.phase = 1
        traffic.wait_calls(1)

        # Revoking the older version changes nothing for the bank, and none of its calls
        # reach the old process any more (the vendor may stop it).
        revoked = api.post(
            f"/v1/plugins/{module}/versions/1.0.0/revoke", json={"reason": "old"}, headers=operator
        )
        assert revoked.status_code in (200, 202), revoked.text
        gateway.sync()
        traffic.phase = 2
        traffic.wait_calls(2)

        # Revoking the version the bank is on: after the acknowledgment no call reaches it.
        revoked = api.post(
            f"/v1/plugins/{module}/versions/2.0.0/revoke", json={"reason": "bad"}, headers=operator
        )
        assert revoked.status_code in (200, 202), revoked.text
        gateway.sync()
        traffic.phase = 3
        traffic.wait_calls(3)
    finally:
        traffic.stop.set()
        for thread in threads:
            thread.join(timeout=15)

    # No call failed while versions changed under it (until the bank's own version went).
    for call in traffic.calls:
        if call[0] < 3:
            assert call[2] == 200, call
    for phase in (1, 2):
        for _, request_id, _ in traffic.of_phase(phase):
            assert _served_by(request_id, first, second) == {"2.0.0"}, (phase, request_id)
    for _, request_id, status in traffic.of_phase(3):
        assert "2.0.0" not in _served_by(request_id, first, second), request_id
        assert status in (200, 503), status  # 503 until a version to move to exists
    # The version header the plugin saw agrees with the process that got the call.
    for seen in second.behaviour.seen:
        assert seen["x-taas-plugin-version"] == "2.0.0"
    for seen in first.behaviour.seen:
        assert seen["x-taas-plugin-version"] == "1.0.0"
