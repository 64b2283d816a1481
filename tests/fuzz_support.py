"""What every fuzzed request must satisfy (schemathesis checks shared by the fuzz tests)."""

from __future__ import annotations

from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
"""No 5xx; only documented status codes and content types; bodies match their schemas."""

NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]
"""All of ``CHECKS``, and a request that does not match the document is refused (4xx)."""
