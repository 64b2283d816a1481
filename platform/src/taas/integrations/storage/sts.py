"""Short-lived S3 sessions: STS AssumeRole signed by hand, and the derived keys of the
identities they are minted from."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3
from minio.credentials.credentials import Credentials
from minio.error import S3Error
from minio.helpers import sha256_hash
from minio.signer import sign_v4_sts
from minio.time import from_iso8601utc, to_amz_date, utcnow

from taas.kit.errors import TemporaryError

_STS_HTTP = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=15), retries=False)


def derived_secret(secret_key: str, user: str) -> str:
    """The key of a subscription's storage identity ``user``, derived from the tenant's key
    so that nothing more has to be stored."""
    return hmac.new(secret_key.encode(), f"module:{user}".encode(), hashlib.sha256).hexdigest()


def assume_role(
    sts_url: str, access_key: str, secret_key: str, *, duration_s: int, policy: dict[str, Any]
) -> Credentials:
    """STS AssumeRole with exactly ``duration_s`` (minio-py's provider raises anything
    below an hour to an hour); the session policy narrows the identity's policy."""
    body = urlencode(
        {
            "Action": "AssumeRole",
            "Version": "2011-06-15",
            "DurationSeconds": str(duration_s),
            "Policy": json.dumps(policy),
        }
    )
    url = urlsplit(sts_url)
    now = utcnow()
    headers = sign_v4_sts(
        method="POST",
        url=url,
        region="",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Host": url.netloc,
            "X-Amz-Date": to_amz_date(now),
        },
        credentials=Credentials(access_key=access_key, secret_key=secret_key),
        content_sha256=sha256_hash(body),
        date=now,
    )
    response = _STS_HTTP.urlopen("POST", sts_url, body=body, headers=headers)
    text = response.data.decode(errors="replace")
    if response.status != 200:
        code = re.search(r"<Code>([^<]+)</Code>", text)
        raise S3Error(
            response,
            code.group(1) if code else f"HTTP{response.status}",
            text[:300],
            sts_url,
            None,
            None,
        )
    found = {
        field: match.group(1)
        for field in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")
        if (match := re.search(f"<{field}>([^<]+)</{field}>", text))
    }
    if len(found) != 4:
        raise TemporaryError(f"MinIO STS answered without credentials: {text[:200]}", delay=2)
    return Credentials(
        access_key=found["AccessKeyId"],
        secret_key=found["SecretAccessKey"],
        session_token=found["SessionToken"],
        expiration=from_iso8601utc(found["Expiration"]),
    )
