"""OpenTelemetry for a module: one tracer provider, spans stamped with the tenant."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from taas_sdk.settings import ModuleSettings


class JsonLinesSpanExporter(SpanExporter):
    """Appends each finished span as one JSON line to a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = []
        for span in spans:
            ctx = span.get_span_context()
            if ctx is None:
                continue
            lines.append(
                json.dumps(
                    {
                        "name": span.name,
                        "trace_id": format(ctx.trace_id, "032x"),
                        "span_id": format(ctx.span_id, "016x"),
                        "parent_id": format(span.parent.span_id, "016x") if span.parent else None,
                        "attributes": dict(span.attributes or {}),
                        "status": span.status.status_code.name,
                        "service": (span.resource.attributes.get("service.name")),
                    },
                    default=str,
                )
            )
        with self._lock, self.path.open("a") as out:
            out.write("".join(line + "\n" for line in lines))
        return SpanExportResult.SUCCESS


_installed: set[str] = set()


def setup(service: str, settings: ModuleSettings) -> bool:
    """Install a tracer provider for ``service`` once per process; False when tracing is off."""
    if settings.otel_exporter == "none":
        return False
    if service in _installed or _installed:
        return True  # OpenTelemetry allows one global provider per process
    exporter: SpanExporter
    if settings.otel_exporter == "jsonl" and settings.otel_file:
        exporter = JsonLinesSpanExporter(Path(settings.otel_file))
    else:
        exporter = ConsoleSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _installed.add(service)
    return True
