"""Checks a submitted plugin version must pass before a reviewer sees it.

1. the manifest matches its schema;
2. the plugin-API range includes this platform's plugin API;
3. the OpenAPI document is valid;
4. the health probe answers 2xx;
5. the contract: every example in the OpenAPI document, sent to the running plugin,
   is answered with the declared status and a body that matches the declared schema
   (``contract_calls``);
6. the signature probes: each operation with an example is sent that example again with
   identity headers the gateway did not sign, and must refuse every one with 401 or 403:
   a plugin trusts only gateway-signed headers (``signature_probes``).

This module runs them in that order. Every run ends in a report (``validation_report``):
a check that cannot even be carried out (a malformed document, an exception inside a
library) is recorded as a failed check naming what broke, never raised, so a version can
never stay ``validating``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import httpx
from openapi_spec_validator import validate as validate_openapi
from pydantic import ValidationError

from taas.kit.errors import PermanentError
from taas.plugins.contract_calls import ContractCall, HeadersFor, contract_calls, run_call
from taas.plugins.manifest import PLUGIN_API_VERSION, PluginManifest, plugin_api_compatible
from taas.plugins.signature_probes import PROBES, probe_targets, run_probe
from taas.plugins.validation_report import Check, build_report, describe_exception

# At most this many example calls are sent (the report keeps four checks for each).
MAX_CALLS = 100


# Starts a manifest's image and yields the base URL of the running plugin; raises
# PermanentError with the reason when it cannot run (image pull, crash, readiness).
ImageRunner = Callable[[PluginManifest], AbstractContextManager[str]]


def validate(
    manifest: dict[str, Any],
    http: httpx.Client,
    headers: HeadersFor,
    run_image: ImageRunner | None = None,
) -> dict[str, Any]:
    """Run every check; return the report stored with the version. Never raises: whatever
    goes wrong becomes a failed check of the report. A manifest that names an image is
    checked on that image, started by ``run_image``; otherwise on its ``upstream.url``."""
    started = dt.datetime.now(dt.UTC)
    checks: list[Check] = []
    try:
        _run_checks(manifest, http, headers, checks, run_image)
    except Exception as exc:
        checks.append(
            Check(
                "validation",
                False,
                f"validation stopped: {describe_exception(exc)}; the checks above ran, the "
                "rest did not. Fix what the message names in the manifest or its OpenAPI "
                "document",
            )
        )
    return build_report(started, checks)


def _run_checks(
    manifest: dict[str, Any],
    http: httpx.Client,
    headers: HeadersFor,
    checks: list[Check],
    run_image: ImageRunner | None,
) -> None:
    """Append each check's result to ``checks``, stopping where a later one cannot tell."""
    parsed = _manifest_checks(manifest, checks)
    if parsed is None:
        return
    openapi = _guarded("openapi.valid", _openapi_valid, parsed.openapi)
    checks.append(openapi)
    image = parsed.upstream.image
    if image is not None and run_image is not None:
        try:
            with run_image(parsed) as base:
                checks.append(Check("image.runs", True, f"{image} started and became Ready"))
                _probe(http, base, parsed, headers, checks=checks, openapi=openapi)
        except PermanentError as exc:
            why = f"{exc.message}; {exc.hint}" if exc.hint else exc.message
            checks.append(Check("image.runs", False, why))
        return
    if parsed.upstream.url is None:
        checks.append(
            Check(
                "health.probe",
                False,
                "no upstream.url, and this platform cannot start images: add the URL of a "
                "running instance",
            )
        )
        return
    _probe(http, str(parsed.upstream.url), parsed, headers, checks=checks, openapi=openapi)


def _probe(
    http: httpx.Client,
    base: str,
    parsed: PluginManifest,
    headers: HeadersFor,
    *,
    checks: list[Check],
    openapi: Check,
) -> None:
    """The health probe, the contract calls and the signature probes against ``base``."""
    base = base.rstrip("/")
    health = _guarded("health.probe", _health, http, base, parsed.health_path, headers)
    checks.append(health)
    if not health.ok or not openapi.ok:
        return
    calls = _contract_checks(http, base, parsed.openapi, headers, checks)
    _signature_checks(http, base, probe_targets(calls, parsed.health_path), headers, checks)


def _manifest_checks(manifest: dict[str, Any], checks: list[Check]) -> PluginManifest | None:
    """The manifest's schema and plugin-API checks; the parsed manifest, None if invalid."""
    try:
        parsed = PluginManifest.model_validate(manifest)
    except ValidationError as exc:
        checks.append(Check("manifest.schema", False, _first_error(exc)))
        return None
    checks.append(Check("manifest.schema", True, "matches the manifest schema"))
    checks.append(
        Check(
            "plugin_api.compatible",
            plugin_api_compatible(parsed.plugin_api),  # the manifest model checked the range
            f"declared {parsed.plugin_api!r}; this platform speaks {PLUGIN_API_VERSION}",
        )
    )
    return parsed


def _contract_checks(
    http: httpx.Client,
    base: str,
    document: dict[str, Any],
    headers: HeadersFor,
    checks: list[Check],
) -> list[ContractCall]:
    """Send each example call of ``document`` (at most MAX_CALLS); the calls sent."""
    calls: list[ContractCall] = []
    for item in contract_calls(document):
        if len(calls) >= MAX_CALLS:
            checks.append(Check("contract", False, f"more than {MAX_CALLS} examples"))
            break
        if isinstance(item, Check):
            checks.append(item)
            continue
        call = item
        calls.append(call)
        checks.append(
            _guarded(f"contract {call.label}", run_call, http, base, call, document, headers)
        )
    if not calls:
        checks.append(Check("contract", False, "the OpenAPI document has no callable example"))
    return calls


def _signature_checks(
    http: httpx.Client,
    base: str,
    targets: list[ContractCall],
    headers: HeadersFor,
    checks: list[Check],
) -> None:
    """Send every signature probe to each of ``targets``."""
    if not targets:
        checks.append(
            Check(
                "signature.probes",
                False,
                "no example call (other than the health probe) whose answer is not a "
                "refusal, to send unsigned and forged requests to; add one, so that "
                "validation can check the plugin refuses them",
            )
        )
    for target in targets:
        for kind in PROBES:
            name = f"signature.{kind} {target.operation}"
            checks.append(_guarded(name, run_probe, http, base, target, kind, headers))


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    where = ".".join(str(p) for p in errors[0]["loc"]) or "manifest"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {errors[0]['msg']}{more}"


def _guarded(name: str, check: Callable[..., Check], *args: Any) -> Check:
    """Run one check, ``check(*args)``; an exception inside it becomes its failed result."""
    try:
        return check(*args)
    except Exception as exc:
        return Check(name, False, f"the check could not run: {describe_exception(exc)}")


def _openapi_valid(document: dict[str, Any]) -> Check:
    try:
        validate_openapi(document)
    except Exception as exc:
        return Check("openapi.valid", False, describe_exception(exc))
    return Check("openapi.valid", True, f"OpenAPI {document.get('openapi')}")


def _health(http: httpx.Client, base: str, path: str, headers: HeadersFor) -> Check:
    try:
        health = http.get(base + path, headers=headers("GET", path))
    except httpx.HTTPError as exc:
        return Check("health.probe", False, f"GET {path} failed: {exc!r}")
    return Check("health.probe", health.is_success, f"GET {path} answered {health.status_code}")
