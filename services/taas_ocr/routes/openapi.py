"""What the OCR routes document: two ways to send an image, and their answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel

from taas_ocr import examples
from taas_ocr.intake import RAW_TYPES
from taas_ocr.schemas import ImageReference, Problem

StoreResult = Annotated[
    bool, Query(description="Store the result as JSON (raw image bodies; JSON has its own).")
]
ResultKey = Annotated[
    str | None,
    Query(max_length=1024, description="Where to store it (default results/<endpoint>/<id>.json)."),
]


def request_body(file: str) -> dict[str, Any]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "requestBody": {
            "required": True,
            "description": (
                "The image as the body (up to 20 MB), or JSON naming an object of the "
                "tenant's storage or carrying a small image."
            ),
            "content": {
                "application/json": {
                    "schema": ImageReference.model_json_schema(),
                    "examples": examples.request_examples(file),
                },
                **dict.fromkeys(sorted(RAW_TYPES), binary),
            },
        }
    }


def _problem_example(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"value": {"type": "about:blank", "title": title, "status": status, "detail": detail}}


def responses(model: type[BaseModel], example: dict[str, Any]) -> dict[int | str, Any]:
    schema = Problem.model_json_schema()

    def problems(description: str, named: dict[str, Any]) -> dict[str, Any]:
        content: dict[str, Any] = {"schema": schema}
        if named:
            content["examples"] = named
        return {"description": description, "content": {"application/problem+json": content}}

    missing = _problem_example(404, "Not found", "no object 'scans/x.jpg' in the tenant's storage")
    invalid = _problem_example(
        422, "Unprocessable request", "the JSON body is not an image reference"
    )
    corrupt = _problem_example(
        422, "Unprocessable request", "the data is not an image this module can read"
    )
    return {
        200: {
            "model": model,
            "content": {"application/json": {"examples": {"inline": {"value": example}}}},
        },
        404: problems("No such object in the tenant's storage", {"missing": missing}),
        413: problems("The image is larger than the limit (bytes or pixels)", {}),
        415: problems("Not an image type this module reads", {}),
        422: problems(
            "The request, or the image, cannot be read", {"invalid": invalid, "corrupt": corrupt}
        ),
    }
