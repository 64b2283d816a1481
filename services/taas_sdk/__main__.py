"""``python -m taas_sdk manifest package.module:app --url URL``: print a module's manifest."""

from __future__ import annotations

import argparse
import importlib
import json
import sys

from fastapi import FastAPI

from taas_sdk.manifest import manifest


def load_app(target: str) -> FastAPI:
    module_name, _, attribute = target.partition(":")
    app = getattr(importlib.import_module(module_name), attribute or "app")
    if not isinstance(app, FastAPI):
        raise SystemExit(f"{target} is not a FastAPI app")
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m taas_sdk", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("manifest", help="print the manifest of a module app")
    generate.add_argument("app", help="import path, e.g. taas_risk.app:app")
    generate.add_argument("--url", help="where the running module is reachable")
    generate.add_argument("--image", help="container image for in-cluster deployment")
    generate.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    document = manifest(load_app(args.app), url=args.url, image=args.image, port=args.port)
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
