"""Hot-plug on the real stack: two real plugin processes (versions 1 and 2), a bank calling
all the time, and the version changes made through the API.

"Acknowledged" means: the API has answered (the revoke call returned, the upgrade's
operation succeeded) and the gateway has applied every route change committed before it
(``GatewayProcess.sync``, a barrier sent through the same notification channel). The
time between the two is the hot-plug bound measured by ``benchmarks/hotplug.py``.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from catalog_support import VendorAccount, revoke, subscribe, wait_version
from gateway_support import GatewayProcess
from plugin_app import PluginBehaviour, PluginServer, manifest
from support import systems_token, unique_slug, wait_for

MakeTenant = Callable[..., dict[str, Any]]


# Phases of the test: even = steady (the last change applied by the gateway), odd = a change
# being made. A call remembers the phase when it started and when it was answered.
STEADY_V1, UPGRADING, ON_V2, REVOKING_OLD, OLD_REVOKED, REVOKING_MINE, MINE_REVOKED = range(7)
# The same for the reversible kill switch (second test).
SERVED, SUSPENDING, SUSPENDED, RESUMING, RESUMED = range(5)
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Made:
    started: int
    ended: int
    request_id: str
    status: int
    body: str
    content_type: str = ""


@dataclass
class Traffic:
    """Calls made one after the other by a few threads, without pause."""

    url: str
    token: str
    phase: int = STEADY_V1
    calls: list[Made] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                started, request_id = self.phase, uuid.uuid4().hex
                response = client.post(
                    self.url,
                    json={"amount": 20000},
                    headers={"Authorization": f"Bearer {self.token}", "X-Request-Id": request_id},
                )
                made = Made(
                    started,
                    self.phase,
                    request_id,
                    response.status_code,
                    response.text,
                    response.headers.get("content-type", ""),
                )
                with self.lock:
                    self.calls.append(made)

    def enter(self, phase: int, calls: int = 20) -> None:
        """Start ``phase``; for a steady phase, wait until ``calls`` calls started in it."""
        self.phase = phase
        if phase % 2 == 0:
            wait_for(
                lambda: len(self.started_in(phase)) >= calls,
                timeout=60,
                what=f"calls in phase {phase}",
            )

    def started_in(self, *phases: int) -> list[Made]:
        with self.lock:
            return [call for call in self.calls if call.started in phases]


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
    operator2: dict[str, str],
    gateway: GatewayProcess,
    make_tenant: MakeTenant,
    vendor: VendorAccount,
    servers: tuple[PluginServer, PluginServer],
) -> None:
    first, second = servers
    module = unique_slug("hp")
    _publish(api, operator, vendor, first, module, "1.0.0")
    bank = make_tenant(quotas={"requests_per_second": 1000})["tenant"]
    subscribe(api, operator, bank, module)  # the stable channel, the bank's rate limit
    traffic = Traffic(f"{gateway.url}/t/{bank['slug']}/{module}/score", systems_token(bank))
    gateway.sync()
    threads = [threading.Thread(target=traffic.run, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        traffic.enter(STEADY_V1)

        # Publish 2.0.0: the stable channel moves the bank. Acknowledged once the API shows
        # the subscription on 2.0.0 and the gateway has applied what was committed.
        traffic.enter(UPGRADING)
        _publish(api, operator, vendor, second, module, "2.0.0")

        def upgraded() -> bool:
            sub = api.get(f"/v1/tenants/{bank['id']}/subscriptions/{module}", headers=operator)
            return bool(sub.json()["version"] == "2.0.0" and sub.json()["status"] == "active")

        wait_for(upgraded, timeout=120, what="the subscription to move to 2.0.0")
        gateway.sync()
        traffic.enter(ON_V2)

        # Revoking the older version changes nothing for the bank (the vendor may now stop
        # the old process).
        traffic.enter(REVOKING_OLD)
        revoke(api, operator, operator2, module, "1.0.0", reason="old")
        gateway.sync()
        traffic.enter(OLD_REVOKED)

        # Revoking the version the bank is on: once applied, no call reaches it.
        traffic.enter(REVOKING_MINE)
        revoke(api, operator, operator2, module, "2.0.0", reason="bad")
        gateway.sync()
        traffic.enter(MINE_REVOKED)
    finally:
        traffic.stop.set()
        for thread in threads:
            thread.join(timeout=15)

    # Not one call failed while the bank was upgraded and the old version revoked, including
    # the calls in flight across each change.
    for call in traffic.calls:
        if call.ended < REVOKING_MINE:
            assert call.status == 200, call
    # Every call started once the upgrade was applied went to 2.0.0's process, none to 1.0.0's.
    for call in traffic.started_in(ON_V2, REVOKING_OLD, OLD_REVOKED, REVOKING_MINE):
        served = _served_by(call.request_id, first, second)
        assert served == ({"2.0.0"} if call.status == 200 else set()), call
    # Once the revoke of the bank's version was applied, no call reached it.
    after = traffic.started_in(MINE_REVOKED)
    for call in after:
        assert _served_by(call.request_id, first, second) == set(), call
        assert call.status == 503, call  # no other version to move the bank to
    # Each process saw only its own version number in the signed headers.
    for seen in second.behaviour.seen:
        assert seen["x-taas-plugin-version"] == "2.0.0"
    for seen in first.behaviour.seen:
        assert seen["x-taas-plugin-version"] == "1.0.0"


def test_suspend_stops_traffic_and_resume_brings_it_back_with_calls_in_flight(
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
    bank = make_tenant(quotas={"requests_per_second": 1000})["tenant"]
    subscribe(api, operator, bank, module)
    traffic = Traffic(
        f"{gateway.url}/t/{bank['slug']}/{module}/score", systems_token(bank), phase=SERVED
    )
    gateway.sync()
    threads = [threading.Thread(target=traffic.run, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        traffic.enter(SERVED)

        # Suspend the bank's version (one operator, at once): acknowledged once the API has
        # answered and the gateway has applied what was committed.
        traffic.enter(SUSPENDING)
        suspended = api.post(
            f"/v1/plugins/{module}/versions/1.0.0/suspend",
            json={"reason": "incident"},
            headers=operator,
        )
        assert suspended.status_code == 200, suspended.text
        assert suspended.json()["status"] == "suspended"
        gateway.sync()
        traffic.enter(SUSPENDED)

        traffic.enter(RESUMING)
        resumed = api.post(f"/v1/plugins/{module}/versions/1.0.0/resume", headers=operator)
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["status"] == "published"
        gateway.sync()
        traffic.enter(RESUMED)
    finally:
        traffic.stop.set()
        for thread in threads:
            thread.join(timeout=15)

    # The suspension does not move the bank: it stays on 1.0.0 and is served by it again.
    sub = api.get(f"/v1/tenants/{bank['id']}/subscriptions/{module}", headers=operator).json()
    assert (sub["version"], sub["status"]) == ("1.0.0", "active"), sub
    # Every call either reached 1.0.0 and succeeded, or was refused by the gateway as
    # withdrawn without reaching it; none failed any other way, even across each change.
    for call in traffic.calls:
        served = _served_by(call.request_id, first, second)
        if call.status == 200:
            assert served == {"1.0.0"}, call
        else:
            assert (call.status, call.content_type) == (503, PROBLEM), call
            assert served == set(), call
            assert call.ended >= SUSPENDING, call  # refused only once the suspend was asked
            assert call.started <= RESUMING, call  # and never once the resume was applied
    # Once the suspension was applied, no call reached the version: 503 naming its status.
    for call in traffic.started_in(SUSPENDED):
        assert call.status == 503, call
        problem = json.loads(call.body)
        assert problem["version"] == "1.0.0", problem
        assert problem["version_status"] == "suspended", problem
        assert "suspended" in problem["detail"], problem
    # Once the resume was applied, every new call reached it again.
    assert traffic.started_in(RESUMED)
    for call in traffic.started_in(RESUMED):
        assert call.status == 200, call
    assert not second.behaviour.seen
