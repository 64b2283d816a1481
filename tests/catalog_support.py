"""Helpers of the open-platform tests: vendor accounts and waiting on plugin versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from support import wait_for


@dataclass
class VendorAccount:
    slug: str
    credentials: dict[str, str]

    def headers(self) -> dict[str, str]:
        response = httpx.post(
            self.credentials["token_url"],
            data={
                "grant_type": "client_credentials",
                "client_id": self.credentials["client_id"],
                "client_secret": self.credentials["client_secret"],
            },
            timeout=15,
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


def wait_version(
    api: Any, headers: dict[str, str], name: str, version: str, until: set[str]
) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(
            f"/v1/plugins/{name}/versions/{version}", headers=headers
        ).json()
        return body if body.get("status") in until else None

    result: dict[str, Any] = wait_for(done, timeout=60, what=f"{name} {version} to be {until}")
    return result
