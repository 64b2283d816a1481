"""The command line every module shares: serve the app, or print its manifest.

python -m taas_risk.app --port 58301
python -m taas_risk.app --manifest --url http://127.0.0.1:58301      # while developing
python -m taas_risk.app --manifest --image REGISTRY/taas/risk@sha256:... --port 8080
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from taas_sdk.manifest import manifest


def serve(create: Callable[[], FastAPI], *, default_port: int, description: str | None) -> None:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--manifest", action="store_true", help="print the manifest and exit")
    parser.add_argument("--url", default=None, help="upstream URL written into the manifest")
    parser.add_argument(
        "--image", default=None, help="image (pinned by digest) the platform runs: no URL then"
    )
    args = parser.parse_args()
    app = create()
    if args.manifest:
        url = None if args.image else args.url or f"http://{args.host}:{args.port}"
        document = manifest(app, url=url, image=args.image, port=args.port)
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
