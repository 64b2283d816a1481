"""What building one Keycloak admin client costs the control plane's process: python-keycloak's
default connection against ``identity.connection.connect``, side by side in one run.

Both build the same connection (no request is sent); the default one also builds an
httpx client for async calls with an SSL context that loads the CA bundle. Prints the
median CPU time per client and the ratio.

    python benchmarks/keycloak_clients.py
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from keycloak import KeycloakOpenIDConnection

from _results import write_results
from taas.integrations.identity.connection import connect

SETTINGS: dict[str, Any] = {
    "server_url": "https://127.0.0.1:1",
    "realm_name": "bank-example",
    "client_id": "taas-control-plane",
    "client_secret_key": "not-used",
    "timeout": 15,
}


def _cpu_ms(build: Callable[[], object], count: int) -> float:
    times = []
    for _ in range(count):
        started = time.process_time()
        build()
        times.append(time.process_time() - started)
    return round(statistics.median(times) * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50, help="clients built per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    default: list[float] = []
    cheap: list[float] = []
    connect(**SETTINGS)  # its shared async client is built once per process
    for _ in range(args.rounds):  # interleaved, as the machine is noisy
        default.append(_cpu_ms(lambda: KeycloakOpenIDConnection(**SETTINGS), args.count))
        cheap.append(_cpu_ms(lambda: connect(**SETTINGS), args.count))
    figures = {
        "count": args.count,
        "rounds": args.rounds,
        "default_cpu_ms_per_client": statistics.median(default),
        "connect_cpu_ms_per_client": statistics.median(cheap),
        "ratio_default_to_connect": round(statistics.median(default) / statistics.median(cheap), 1),
    }
    write_results("keycloak_clients", figures)


if __name__ == "__main__":
    main()
