"""The engine's small HTTP side: liveness, readiness and metrics, for probes and Prometheus."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pantry_common import check_postgres, check_redis, ignore_transaction, metrics_payload


def health_app(checks: Callable[[], Any]) -> Starlette:
    async def health(_: Request) -> JSONResponse:
        ignore_transaction()
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> JSONResponse:
        ignore_transaction()
        state = await checks()
        ok = all(c["status"] == "up" for c in state.values())
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "checks": state},
            status_code=200 if ok else 503,
        )

    async def metrics(_: Request) -> Response:
        ignore_transaction()
        payload, content_type = await metrics_payload()
        return Response(payload, media_type=content_type)

    return Starlette(
        routes=[Route("/health", health), Route("/ready", ready), Route("/metrics", metrics)]
    )


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the process's shutdown decides."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def dependency_checks(pool: Any, redis: Any, rabbit_up: Callable[[], bool]) -> dict[str, Any]:
    postgres, cache = await asyncio.gather(check_postgres(pool), check_redis(redis))
    return {
        "postgres": postgres,
        "redis": cache,
        "rabbitmq": {"status": "up" if rabbit_up() else "down"},
    }
