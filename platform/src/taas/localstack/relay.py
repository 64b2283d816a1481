"""A TCP relay from the pod network's gateway address to loopback servers of the stack.

Pods on the real node cannot reach the host's loopback, where the stack's servers listen
(house rule: servers bind to loopback). The relay listens on the bridge's address (made
by the stack, not routed off the machine) on the chosen ports only, and copies bytes to
the same port on loopback. Which pods may use it is the NetworkPolicies' business: only
module pods are given egress to it.

    python -m taas.localstack.relay --listen 10.244.0.1 --to 127.0.0.1 58000 59000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

_CHUNK = 1 << 16


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


async def _relay(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    target: str,
    port: int,
) -> None:
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection(target, port)
    except OSError:
        client_writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await client_writer.wait_closed()
        return
    try:
        await asyncio.gather(
            _pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer)
        )
    finally:
        for writer in (client_writer, upstream_writer):
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


async def serve(listen: str, target: str, ports: list[int]) -> None:
    servers = []
    for port in ports:

        async def handle(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int = port
        ) -> None:
            await _relay(reader, writer, target, port)

        servers.append(await asyncio.start_server(handle, listen, port, reuse_address=True))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"relaying {listen}:{ports} to {target}", flush=True)
    await stop.wait()
    for server in servers:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", required=True)
    parser.add_argument("--to", default="127.0.0.1")
    parser.add_argument("ports", nargs="+", type=int)
    args = parser.parse_args()
    asyncio.run(serve(args.listen, args.to, args.ports))


if __name__ == "__main__":
    main()
