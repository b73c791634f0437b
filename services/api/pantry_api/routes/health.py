"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from starlette.responses import JSONResponse, Response

from pantry_common import check_postgres, check_redis, ignore_transaction, metrics_payload

from ..deps import API_PREFIX, State

router = APIRouter(prefix=API_PREFIX, tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    ignore_transaction()
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "PostgreSQL is down."}})
async def ready(state: State) -> JSONResponse:
    """Readiness: each dependency named with its state. Only PostgreSQL is required: without
    Redis the api answers from PostgreSQL (`X-Cache: bypass`); without RabbitMQ refresh requests
    wait in the outbox."""
    ignore_transaction()
    postgres, redis = await asyncio.gather(check_postgres(state.pool), check_redis(state.redis))
    rabbitmq = {"status": "up" if state.relay.rabbitmq_up else "down"}
    checks: dict[str, Any] = {"postgres": postgres, "redis": redis, "rabbitmq": rabbitmq}
    ok = postgres["status"] == "up"
    body = {"status": "ready" if ok else "not_ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ok else 503)


metrics_router = APIRouter(tags=["health"])


@metrics_router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    ignore_transaction()
    payload, content_type = await metrics_payload()
    return Response(payload, media_type=content_type)
