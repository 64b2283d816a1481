"""One system at a time as it fills with tenants: Keycloak's shared bank realm, or MinIO,
with the cost of each of its calls and of the reconciler's listing at each point.

It makes ``--system``'s part of pool tenants (Keycloak: organization, first admin, systems
client; MinIO: bucket with its settings and policy, service identity) exactly as
provisioning does, ``--workers`` at a time, and at each point of ``--points`` times
``--samples`` more made one after another, call by call, and the reconciler's listing.
Isolated from the rest of provisioning, a change to a server's settings or to the calls
made is compared in minutes instead of the hour the whole provisioning curve takes.

    python benchmarks/scale_probe.py --system keycloak --points 0,1000,2500,5000
    python benchmarks/scale_probe.py --system keycloak --silo-every 1 ...  # realms instead
    python benchmarks/scale_probe.py --system minio --points 0,1000,2500,5000

Keycloak's tenants go to a scratch realm (``--realm``) and MinIO's are named ``sc…``; all
are removed at the end unless ``--keep`` (then `make reset` drops them with the stack).
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from keycloak import KeycloakOpenIDConnection
from minio import Minio, MinioAdmin

from _results import stack_env, write_results
from taas.integrations.identity import IdentityTenants, new_password
from taas.integrations.inventory import RealmWanted, list_identity, list_storage, realms_wanted
from taas.integrations.spec import TenantSpec
from taas.integrations.storage import StorageTenants

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CALLS: dict[str, list[float]] = defaultdict(list)
RECORDING = {"on": False}
MADE: list[TenantSpec] = []


def _record(route: str, started: float) -> None:
    if RECORDING["on"]:
        CALLS[route].append(time.perf_counter() - started)


def _keycloak_call(method: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def call(self: KeycloakOpenIDConnection, path: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, path, *args, **kwargs)
        finally:
            route = re.sub(r"admin/realms/[^/]+", "", UUID.sub("{id}", path.partition("?")[0]))
            _record(f"{method} {route}", started)

    return call


def _minio_call(original: Callable[..., Any], admin: bool) -> Callable[..., Any]:
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            if admin:
                route = f"{kwargs['method']} admin {kwargs['command'].value}"
            else:
                method = kwargs.get("method", args[0] if args else "?")
                query = ",".join(sorted(kwargs.get("query_params") or {}))
                route = f"{method} s3 {'object' if kwargs.get('object_name') else 'bucket'}"
                route += f"?{query}" if query else ""
            _record(route, started)

    return call


for _name in ("raw_get", "raw_post", "raw_put", "raw_delete"):
    _original = getattr(KeycloakOpenIDConnection, _name)
    setattr(KeycloakOpenIDConnection, _name, _keycloak_call(_name[4:].upper(), _original))
Minio._url_open = _minio_call(Minio._url_open, admin=False)  # type: ignore[method-assign]
MinioAdmin._url_open = _minio_call(MinioAdmin._url_open, admin=True)  # type: ignore[method-assign]


@contextmanager
def recording() -> Iterator[dict[str, list[float]]]:
    CALLS.clear()
    RECORDING["on"] = True
    try:
        yield CALLS
    finally:
        RECORDING["on"] = False


class Probe:
    """Makes, lists and removes one system's part of a tenant."""

    def __init__(self, system: str, realm: str, env: dict[str, str]) -> None:
        self.system = system
        if system == "keycloak":
            self.identity = IdentityTenants(
                env["TAAS_KEYCLOAK_URL"],
                env["TAAS_KEYCLOAK_ADMIN_USER"],
                env["TAAS_KEYCLOAK_ADMIN_PASSWORD"],
                banks_realm=realm,
                platform_realm="taas-platform",
            )
            self.identity.ensure_platform()
        else:
            self.storage = StorageTenants(
                env["TAAS_MINIO_ENDPOINT"],
                env["TAAS_MINIO_ROOT_USER"],
                env["TAAS_MINIO_ROOT_PASSWORD"],
                secure=False,
            )

    def make(self, spec: TenantSpec) -> None:
        if self.system == "keycloak":
            self.identity.ensure(spec, new_password())
        else:
            self.storage.ensure(spec, new_password())

    def listing(self) -> dict[str, int]:
        if self.system == "minio":
            found = list_storage(self.storage, prefix="tenant-sc")
            return {"buckets_listed": len(found.buckets), "users_listed": len(found.users)}
        realms = realms_wanted(self.identity, MADE)
        realms.setdefault(self.identity.banks_realm, RealmWanted())
        listed = list_identity(self.identity, realms)
        shared = listed[self.identity.banks_realm]
        return {
            "realms_listed": len(listed),
            "shared_realm_clients": len(shared.clients),
            "shared_realm_organizations": len(shared.organizations),
        }

    def remove_all(self) -> None:
        if self.system == "keycloak":
            master = self.identity.admin("master")
            for realm in {self.identity.realm_of(spec) for spec in MADE}:
                master.delete_realm(realm)
            return
        for spec in MADE:
            self.storage.remove_identity(spec)
            self.storage.remove_bucket(spec)


def _spec(tier: str = "pool") -> TenantSpec:
    spec = TenantSpec(id=uuid.uuid4(), slug=f"sc{uuid.uuid4().hex[:10]}", tier=tier, region="b")
    MADE.append(spec)
    return spec


def _fill(probe: Probe, count: int, workers: int, silo_every: int) -> None:
    started, done = time.monotonic(), 0

    def one(i: int) -> None:
        silo = silo_every and i % silo_every == silo_every - 1
        probe.make(_spec("silo" if silo else "pool"))

    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(one, range(count)):
            done += 1
            if done % 250 == 0:
                rate = done / (time.monotonic() - started) * 60
                print(f"  filled {done}/{count} ({rate:.0f}/min)", flush=True)


def _point(probe: Probe, present: int, samples: int) -> dict[str, Any]:
    seconds = []
    with recording() as calls:
        for _ in range(samples):
            started = time.perf_counter()
            probe.make(_spec())
            seconds.append(time.perf_counter() - started)
        per_call = {
            route: round(statistics.median(times) * 1000, 1)
            for route, times in sorted(calls.items())
        }
    started = time.perf_counter()
    listed = probe.listing()
    point = {
        "tenants_present": present,
        "make_p50_s": round(statistics.median(seconds), 3),
        "make_p95_s": round(sorted(seconds)[int(0.95 * (len(seconds) - 1))], 3),
        "listing_s": round(time.perf_counter() - started, 2),
        **listed,
        "call_p50_ms": per_call,
    }
    print(
        f"{present:>6} present: make p50 {point['make_p50_s']} s, "
        f"p95 {point['make_p95_s']} s; listing {point['listing_s']} s",
        flush=True,
    )
    return point


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", choices=("keycloak", "minio"), default="keycloak")
    parser.add_argument("--points", default="0,1000,2500,5000")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--silo-every", type=int, default=0, help="every Nth tenant a realm")
    parser.add_argument("--realm", default="taas-scale-probe")
    parser.add_argument("--keep", action="store_true", help="leave what was made")
    parser.add_argument(
        "--present", type=int, default=0, help="tenants a kept earlier run left already"
    )
    parser.add_argument("--name", default="", help="results file (default scale_<system>)")
    args = parser.parse_args()
    probe = Probe(args.system, args.realm, stack_env())
    points, present = [], args.present
    try:
        for target in [int(p) for p in args.points.split(",")]:
            if target > present:
                print(f"filling to {target} …", flush=True)
                _fill(probe, target - present, args.workers, args.silo_every)
                present = target
            points.append(_point(probe, present, args.samples))
            present += args.samples
    finally:
        if not args.keep:
            probe.remove_all()
    first, last = points[0], points[-1]
    write_results(
        args.name or f"scale_{args.system}",
        {
            "make_p95_ratio_last_to_first": round(last["make_p95_s"] / first["make_p95_s"], 2),
            "listing_s_at_last": last["listing_s"],
            "samples": args.samples,
            "points": points,
        },
    )


if __name__ == "__main__":
    main()
