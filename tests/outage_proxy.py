"""Small TCP proxies on loopback that make one outside system unavailable to one process.

The crash-safety suite points the worker under test at a proxy per system (PostgreSQL,
Redis, Keycloak, MinIO, kube-apiserver) instead of the shared servers. Switching a proxy to
``refuse`` (no listener: connections are refused, and open ones are cut) or ``blackhole``
(connections are accepted and open ones kept, but nothing is forwarded) makes that system
unavailable to the worker alone; the shared servers, and every other user of them, are
untouched. ``up`` serves again.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import yaml

Mode = Literal["up", "refuse", "blackhole"]


class OutageProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream``, or refuses or swallows connections."""

    def __init__(self, name: str, upstream_host: str, upstream_port: int) -> None:
        self.name = name
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.mode: Mode = "up"
        self.cut = 0  # open connections cut by outages so far
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    # ------------------------------------------------------------------ control (any thread)

    def start(self) -> OutageProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def up(self) -> None:
        self._call(self._switch("up"))

    def refuse(self) -> None:
        self._call(self._switch("refuse"))

    def blackhole(self) -> None:
        self._call(self._switch("blackhole"))

    def close(self) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        future: Future[None] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        future.result(timeout=10)

    # ------------------------------------------------------------------ the loop's side

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _switch(self, mode: Mode) -> None:
        self.mode = mode
        if mode == "refuse":
            if self._server is not None:
                self._server.close()
                self._server = None
            self._cut_all()
        elif self._server is None:
            await self._listen()

    async def _shutdown(self) -> None:
        await self._switch("refuse")
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def _cut_all(self) -> None:
        for writer in list(self._pipes):
            self.cut += 1
            writer.transport.abort()
        self._pipes.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode != "up":  # black hole: hold the connection, say nothing
            self._pipes.add(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._pipes.update((writer, up_writer))
        await asyncio.gather(
            self._pump(reader, up_writer), self._pump(up_reader, writer), return_exceptions=True
        )
        self._pipes.difference_update((writer, up_writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                while self.mode == "blackhole":  # swallow: nothing goes through until up
                    await asyncio.sleep(0.05)
                if self.mode == "refuse" or writer.transport.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        finally:
            if self.mode == "refuse":
                writer.transport.abort()
            else:
                writer.close()


# ---------------------------------------------------------------------- a worker behind them


def _host_port(netloc: str) -> tuple[str, int]:
    host, _, port = netloc.rpartition("@")[2].rpartition(":")
    return host, int(port)


def _through(url: str, proxy: OutageProxy) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")
    netloc = f"{auth[0]}@" if auth[1] else ""
    return urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{proxy.port}"))


def start_proxies(env: dict[str, str]) -> dict[str, OutageProxy]:
    """One proxy per outside system named by the settings in ``env``."""
    upstreams = {
        "postgres": _host_port(urlsplit(env["TAAS_DATABASE_URL"]).netloc),
        "redis": _host_port(urlsplit(env["TAAS_REDIS_URL"]).netloc),
        "keycloak": _host_port(urlsplit(env["TAAS_KEYCLOAK_URL"]).netloc),
        "minio": _host_port(env["TAAS_MINIO_ENDPOINT"]),
        "kubernetes": _host_port(urlsplit(env["TAAS_KUBE_API_URL"]).netloc),
    }
    return {name: OutageProxy(name, *where).start() for name, where in upstreams.items()}


def env_through(
    proxies: dict[str, OutageProxy], env: dict[str, str], kubeconfig: Path
) -> dict[str, str]:
    """The settings that make a process reach every system through ``proxies``; writes
    a copy of the kubeconfig (to ``kubeconfig``) whose server is the Kubernetes proxy."""
    config = yaml.safe_load(Path(env["KUBECONFIG"]).read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = _through(cluster["cluster"]["server"], proxies["kubernetes"])
    kubeconfig.write_text(yaml.safe_dump(config))
    return {
        "TAAS_DATABASE_URL": _through(env["TAAS_DATABASE_URL"], proxies["postgres"]),
        "TAAS_REDIS_URL": _through(env["TAAS_REDIS_URL"], proxies["redis"]),
        "TAAS_CELERY_BROKER_URL": _through(env["TAAS_CELERY_BROKER_URL"], proxies["redis"]),
        "TAAS_KEYCLOAK_URL": _through(env["TAAS_KEYCLOAK_URL"], proxies["keycloak"]),
        "TAAS_MINIO_ENDPOINT": f"127.0.0.1:{proxies['minio'].port}",
        "TAAS_KUBE_API_URL": _through(env["TAAS_KUBE_API_URL"], proxies["kubernetes"]),
        "KUBECONFIG": str(kubeconfig),
    }
