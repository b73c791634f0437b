"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from starlette.responses import JSONResponse, Response

from pantry_common import check_postgres, check_redis, metrics_payload

from ..deps import State

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "PostgreSQL is down."}})
async def ready(state: State) -> JSONResponse:
    """Readiness: each dependency named with its state. Only PostgreSQL is required;
    without Redis the api answers from PostgreSQL (`X-Cache: bypass`)."""
    postgres, redis = await asyncio.gather(check_postgres(state.pool), check_redis(state.redis))
    checks: dict[str, Any] = {"postgres": postgres, "redis": redis}
    ok = postgres["status"] == "up"
    body = {"status": "ready" if ok else "not_ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ok else 503)


metrics_router = APIRouter(tags=["health"])


@metrics_router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    payload, content_type = metrics_payload()
    return Response(payload, media_type=content_type)
