"""HTTP API of platform operators and auditors (``/v1/operators``), for operators only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from fastapi.responses import JSONResponse

from taas.kit.problems import problems
from taas.kit.web import IdempotencyKey, committed, service_of
from taas.operators.schemas import USERNAME, OperatorCreate, OperatorCreated, OperatorList
from taas.operators.service import OperatorService

router = APIRouter(prefix="/v1/operators", tags=["operators"], responses=problems(400))
Operators = Annotated[OperatorService, Depends(service_of(OperatorService))]
Username = Annotated[str, Path(pattern=USERNAME, description="The user's login name.")]


@router.get(
    "",
    response_model=OperatorList,
    responses=problems(401, 403, 502, 503),
    summary="List platform operators and auditors",
)
def list_operators(service: Operators) -> OperatorList:
    return service.list()


@router.post(
    "",
    status_code=201,
    response_model=OperatorCreated,
    responses=problems(401, 403, 409, 422, 502, 503),
    summary="Add a platform operator or auditor (temporary password, shown once)",
)
def add_operator(
    body: OperatorCreate, service: Operators, idempotency_key: IdempotencyKey = None
) -> Any:
    created = committed(service.session, service.add(body, idempotency_key))
    return JSONResponse(created.model_dump(mode="json"), status_code=201)


@router.delete(
    "/{username}",
    status_code=204,
    responses=problems(401, 403, 404, 409, 422, 502, 503),
    summary="Remove a platform operator or auditor (never yourself, never the last operator)",
)
def remove_operator(username: Username, service: Operators) -> Response:
    """Tokens the user already holds stay valid until they expire (at most 5 minutes)."""
    service.remove(username)
    return committed(service.session, Response(status_code=204))
