"""``POST /uploads``: where the bank puts a transactions file."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from taas_sdk import TenantStorageDep

from taas_marketing import examples
from taas_marketing.schemas import Upload

UPLOAD_EXPIRES_S = 900


def router() -> APIRouter:
    routes = APIRouter()

    @routes.post(
        "/uploads",
        status_code=201,
        summary="Get a URL to upload a transactions file",
        responses={
            403: examples.problem_response("No storage grant", {"no-grant": examples.FORBIDDEN})
        },
    )
    def create_upload(storage: TenantStorageDep) -> Upload:
        """A presigned URL: PUT the CSV to it (valid 15 minutes), then POST /jobs with ``key``.

        Columns: customer_id, date (or timestamp, ISO 8601), amount; others are ignored.
        """
        key = f"uploads/{uuid.uuid4().hex}.csv"
        url = storage.presigned_put(key, UPLOAD_EXPIRES_S)
        return Upload(key=key, url=url, expires_in_s=UPLOAD_EXPIRES_S)

    return routes
