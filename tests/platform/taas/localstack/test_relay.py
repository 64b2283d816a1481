"""The node relay, run as the stack runs it: bytes go through both ways, and SIGTERM stops
it."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

from support import wait_for


def test_bytes_go_through_both_ways_and_sigterm_stops_it() -> None:
    with socket.socket() as target:
        target.bind(("127.0.0.2", 0))
        target.listen()
        port = target.getsockname()[1]

        def echo() -> None:
            connection, _ = target.accept()
            with connection:
                connection.sendall(b"echo:" + connection.recv(100))

        threading.Thread(target=echo, daemon=True).start()
        relay = subprocess.Popen(
            [sys.executable, "-m", "taas.localstack.relay", "--listen", "127.0.0.1",
             "--to", "127.0.0.2", str(port)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:

            def answers() -> bool:
                with socket.socket() as probe:
                    return probe.connect_ex(("127.0.0.1", port)) == 0

            wait_for(answers, timeout=10, what="the relay to listen")
            # the probe's connection took the echo's one accept: serve a second one
            threading.Thread(target=echo, daemon=True).start()
            with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
                client.sendall(b"hello")
                client.shutdown(socket.SHUT_WR)
                answer = b"".join(iter(lambda: client.recv(100), b""))
        finally:
            relay.terminate()
            code = relay.wait(timeout=10)
    assert answer == b"echo:hello"
    assert code == 0
