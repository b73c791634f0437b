"""The engine's small HTTP side: liveness, readiness and metrics, for probes and Prometheus."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette

from pantry_common import JSON_ERRORS, check_postgres, check_redis, health_routes, up_when


def health_app(pool: Any, redis: Any, rabbit_up: Callable[[], bool]) -> Starlette:
    """Ready when PostgreSQL, Redis and the RabbitMQ consumers are all up."""
    checks = {
        "postgres": lambda: check_postgres(pool),
        "redis": lambda: check_redis(redis),
        "rabbitmq": lambda: up_when(rabbit_up),
    }
    return Starlette(
        routes=health_routes(checks, service="recipe-engine", required=checks),
        exception_handlers=JSON_ERRORS,
    )


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the process's shutdown decides."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
