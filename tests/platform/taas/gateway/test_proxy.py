"""What crosses the gateway: target paths, request and response headers (pure logic)."""

from __future__ import annotations

import pytest

from taas.gateway.proxy import parse_target, read_incoming, response_headers, sane_request_id


@pytest.mark.parametrize(
    ("path", "target"),
    [
        (b"/t/rural-7/risk/score", ("rural-7", "risk", "/score")),
        (b"/t/rural-7/risk/a/b%20c/", ("rural-7", "risk", "/a/b%20c/")),
        (b"/t/rural-7/risk", ("rural-7", "risk", "/")),
        (b"/t/rural-7/risk/", ("rural-7", "risk", "/")),
        (b"/t/rural-7/risk/v1.2/file.txt", ("rural-7", "risk", "/v1.2/file.txt")),
    ],
)
def test_module_paths_are_split_into_tenant_module_and_rest(
    path: bytes, target: tuple[str, str, str]
) -> None:
    assert parse_target(path) == target


@pytest.mark.parametrize(
    "path",
    [
        b"/",
        b"/t/",
        b"/t/rural-7",
        b"/x/rural-7/risk/score",
        b"/t/Rural/risk/score",
        b"/t/rural_7/risk/score",
        b"/t//risk/score",
        b"/t/rural-7/risk/../admin",
        b"/t/rural-7/risk/a/./b",
        b"/t/rural-7/risk/%2e%2e/admin",
        b"/t/rural-7/risk/a%2F..%2Fadmin",
    ],
)
def test_other_paths_and_dot_segments_have_no_target(path: bytes) -> None:
    assert parse_target(path) is None


def test_credentials_and_forgeable_headers_do_not_cross() -> None:
    incoming = read_incoming(
        [
            (b"host", b"gateway"),
            (b"authorization", b"Bearer abc"),
            (b"cookie", b"session=1"),
            (b"proxy-authorization", b"Basic x"),
            (b"proxy-foo", b"1"),
            (b"x-taas-tenant", b"other-bank"),
            (b"x-taas-signature", b"v1=00"),
            (b"forwarded", b"for=1.2.3.4"),
            (b"x-forwarded-for", b"1.2.3.4"),
            (b"x-forwarded-host", b"evil"),
            (b"connection", b"keep-alive, x-private"),
            (b"keep-alive", b"timeout=5"),
            (b"x-private", b"secret"),
            (b"te", b"trailers"),
            (b"upgrade", b"websocket"),
            (b"expect", b"100-continue"),
            (b"x-request-id", b"req-1"),
            (b"traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01"),
            (b"content-type", b"application/json"),
            (b"content-length", b"12"),
            (b"accept", b"*/*"),
            (b"x-custom", b"kept"),
        ]
    )
    assert incoming.forward == [
        ("content-type", "application/json"),
        ("content-length", "12"),
        ("accept", "*/*"),
        ("x-custom", "kept"),
    ]
    assert incoming.authorization == b"Bearer abc"
    assert incoming.request_id == b"req-1"
    assert incoming.traceparent is not None
    assert incoming.has_body


def test_a_request_has_a_body_when_it_says_so() -> None:
    assert not read_incoming([(b"accept", b"*/*")]).has_body
    assert not read_incoming([(b"content-length", b"0")]).has_body
    assert read_incoming([(b"transfer-encoding", b"chunked")]).has_body


def test_response_headers_lose_hop_by_hop_and_gain_the_request_id() -> None:
    headers = response_headers(
        [
            (b"Content-Type", b"application/json"),
            (b"Connection", b"keep-alive, X-Hop"),
            (b"X-Hop", b"1"),
            (b"Transfer-Encoding", b"chunked"),
            (b"Server", b"vendor/1.0"),
            (b"Set-Cookie", b"a=1"),
            (b"X-Request-Id", b"spoofed"),
        ],
        b"req-1",
    )
    assert headers == [
        (b"content-type", b"application/json"),
        (b"set-cookie", b"a=1"),
        (b"x-request-id", b"req-1"),
    ]


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        (b"req-1", "req-1"),
        (b"0af7651916cd43dd8448eb211c80319c", "0af7651916cd43dd8448eb211c80319c"),
        (b"a b", None),
        (b"x" * 129, None),
        (b"a\nb", None),
        (b"", None),
        (None, None),
    ],
)
def test_only_plain_request_ids_are_kept(value: bytes | None, kept: str | None) -> None:
    assert sane_request_id(value) == kept
