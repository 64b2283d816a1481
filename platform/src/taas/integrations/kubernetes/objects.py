"""Kubernetes objects through the dynamic client: read, create-or-adopt, replace when a
field drifted, delete; API failures become retry-aware errors."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config, dynamic
from kubernetes.dynamic.exceptions import DynamicApiError

from taas.kit.errors import PermanentError, TemporaryError

T = TypeVar("T")
CONFLICT_RETRIES = 4
# Where pods find the cluster DNS: its pods in kube-system, in most clusters.
KUBE_SYSTEM_DNS: tuple[Mapping[str, Any], ...] = (
    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}},
)


@lru_cache(maxsize=4)
def _dynamic(kubeconfig: str) -> Any:
    api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=kubeconfig
    )
    return dynamic.DynamicClient(api)  # type: ignore[no-untyped-call]


def translate(call: Callable[[], T], what: str) -> T:
    """Run one API call, turning failures into retry-aware errors."""
    try:
        return call()
    except DynamicApiError as exc:
        status = int(getattr(exc, "status", 0) or 0)
        if status in (0, 429, 500, 502, 503, 504):
            raise TemporaryError(f"Kubernetes {what}: HTTP {status}", delay=2) from exc
        raise PermanentError(
            f"Kubernetes refused {what}: HTTP {status}: {str(exc)[:300]}",
            hint="check the tenant's quotas and the platform's RBAC on the cluster",
        ) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise TemporaryError(f"Kubernetes API unreachable during {what}: {exc}", delay=2) from exc


def status_of(exc: BaseException | None) -> int:
    """The HTTP status of the API error behind a translated error (0 if there is none)."""
    return int(getattr(exc, "status", 0) or 0) if isinstance(exc, DynamicApiError) else 0


def subset(wanted: Any, actual: Any) -> bool:
    """True when every field of ``wanted`` is present with the same value in ``actual``.

    The API server adds defaults (and normalises quantities such as ``1Gi``), so a full
    equality would report drift that is not there.
    """
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(
            subset(value, actual.get(key)) for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(actual, list)
            and len(wanted) == len(actual)
            and all(subset(w, a) for w, a in zip(wanted, actual, strict=True))
        )
    return bool(wanted == actual) or str(wanted) == str(actual)


class KubernetesObjects:
    """Generic object operations on the cluster a kubeconfig names."""

    def __init__(
        self,
        kubeconfig: Path,
        gateway_namespace: str,
        modules_namespace: str = "taas-modules",
        *,
        dns_peers: Sequence[Mapping[str, Any]] = KUBE_SYSTEM_DNS,
    ) -> None:
        self.kubeconfig = str(kubeconfig)
        self.gateway_namespace = gateway_namespace
        self.modules_namespace = modules_namespace
        self.dns_peers = dns_peers

    @property
    def client(self) -> Any:
        """The dynamic client: manifests in, plain dicts out."""
        return _dynamic(self.kubeconfig)

    def _resource(self, api_version: str, kind: str) -> Any:
        return translate(
            lambda: self.client.resources.get(api_version=api_version, kind=kind), f"find {kind}"
        )

    def _read(self, api_version: str, kind: str, name: str, namespace: str | None) -> Any | None:
        resource = self._resource(api_version, kind)
        try:
            return translate(lambda: resource.get(name=name, namespace=namespace), f"read {kind}")
        except PermanentError as exc:
            if status_of(exc.__cause__) == 404:
                return None
            raise

    def _create(
        self, api_version: str, kind: str, body: dict[str, Any], namespace: str | None
    ) -> None:
        resource = self._resource(api_version, kind)
        try:
            translate(lambda: resource.create(body=body, namespace=namespace), f"create {kind}")
        except PermanentError as exc:
            if status_of(exc.__cause__) != 409:  # 409: created by a concurrent attempt; adopt it
                raise

    def _replace(self, body: dict[str, Any], existing: Any, namespace: str | None) -> None:
        """Replace ``existing`` with ``body`` (at the version read, so a concurrent change
        makes this fail rather than be lost)."""
        resource = self._resource(body["apiVersion"], body["kind"])
        replacement = {
            **body,
            "metadata": {**body["metadata"], "resourceVersion": existing.metadata.resourceVersion},
        }
        translate(
            functools.partial(resource.replace, body=replacement, namespace=namespace),
            f"replace {body['kind']}",
        )

    @staticmethod
    def _merge_patch(
        resource: Any, body: dict[str, Any], name: str, namespace: str, what: str
    ) -> None:
        """Merge ``body`` into the object (JSON merge patch: a None value removes a key)."""
        translate(
            functools.partial(
                resource.patch,
                body=body,
                name=name,
                namespace=namespace,
                content_type="application/merge-patch+json",
            ),
            what,
        )

    def apply(self, body: dict[str, Any], namespace: str | None, field: str = "spec") -> str | None:
        """Create ``body`` or replace it when ``field`` differs; a change description or None.

        A replace races with the controllers that write the object's status: on a conflict
        the object is read again and compared again (a few times)."""
        api_version, kind, name = body["apiVersion"], body["kind"], body["metadata"]["name"]
        for attempt in range(CONFLICT_RETRIES):
            existing = self._read(api_version, kind, name, namespace)
            if existing is None:
                self._create(api_version, kind, body, namespace)
                return f"created {kind} {namespace}/{name}"
            current = existing.to_dict()
            if subset(body.get(field), current.get(field)) and subset(
                body["metadata"].get("labels"), current["metadata"].get("labels")
            ):
                return None
            try:
                self._replace(body, existing, namespace)
            except PermanentError as exc:
                if status_of(exc.__cause__) != 409 or attempt == CONFLICT_RETRIES - 1:
                    raise
                continue
            return f"updated {kind} {namespace}/{name}"
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None) -> str | None:
        """Delete one object; None when it was already gone."""
        resource = self._resource(api_version, kind)
        try:
            translate(lambda: resource.delete(name=name, namespace=namespace), f"delete {kind}")
        except PermanentError as exc:
            if status_of(exc.__cause__) == 404:
                return None
            raise
        return f"deleted {kind} {namespace}/{name}"

    def read(
        self, api_version: str, kind: str, name: str, namespace: str | None
    ) -> dict[str, Any] | None:
        """One object as a plain dict; None when there is none."""
        existing = self._read(api_version, kind, name, namespace)
        return None if existing is None else dict(existing.to_dict())

    def list_objects(
        self, api_version: str, kind: str, namespace: str, selector: str = "", fields: str = ""
    ) -> list[dict[str, Any]]:
        """The objects a label (and field) selector matches, as plain dicts."""
        resource = self._resource(api_version, kind)
        listing = translate(
            lambda: resource.get(
                namespace=namespace, label_selector=selector, field_selector=fields
            ),
            f"list {kind}",
        )
        return list(listing.to_dict().get("items", []))

    def list_names(self, api_version: str, kind: str, namespace: str, selector: str) -> list[str]:
        return list(self.list_labels(api_version, kind, namespace, selector))

    def list_labels(
        self, api_version: str, kind: str, namespace: str, selector: str
    ) -> dict[str, dict[str, str]]:
        """The labels of each object of ``kind`` that ``selector`` matches, by name."""
        resource = self._resource(api_version, kind)
        listing = translate(
            lambda: resource.get(namespace=namespace, label_selector=selector), f"list {kind}"
        )
        return {
            item["metadata"]["name"]: dict(item["metadata"].get("labels") or {})
            for item in listing.to_dict().get("items", [])
        }
