"""``taas gateway``: run the data plane (the gateway in front of the modules) locally."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from taas.cli.errors import friendly_errors
from taas.cli.session import app_env, local_stack
from taas.kit.settings import StackSettings
from taas.localstack.process import ensure_port_free

app = typer.Typer(help="Run the gateway (data plane).", no_args_is_help=True)


@app.callback()
def gateway() -> None:
    """Run the gateway (data plane)."""


@app.command()
@friendly_errors
def run(
    port: Annotated[
        int | None, typer.Option(help="Port on 127.0.0.1 (default: TAAS_GATEWAY_PORT, 58100).")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (one event loop each).")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Serve /t/{tenant}/{module}/... in the foreground (uvloop, httptools, no access log)."""
    settings = StackSettings()
    port = port or settings.gateway_port
    ensure_port_free(settings.host, port, "gateway", "TAAS_GATEWAY_PORT")
    # The stack's endpoints unless the environment already names them (as in tests).
    os.environ.update(
        {key: value for key, value in app_env(local_stack()).items() if key not in os.environ}
    )
    uvicorn.run(
        "taas.gateway.app:create_app",
        factory=True,
        host=settings.host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        server_header=False,
        log_level=log_level,
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    app()
