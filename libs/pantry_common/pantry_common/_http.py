"""What every service's HTTP side says the same way: the JSON error body, and the liveness,
readiness and metrics routes that probes and Prometheus ask."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ._metrics import metrics_payload
from ._telemetry import ignore_transaction

#: The `error` code of each status; the body's `message` says it for a person.
ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    503: "unavailable",
}

Check = Callable[[], Awaitable[dict[str, Any]]]


def _json(
    body: Mapping[str, Any], status: int, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def error_response(
    status: int,
    message: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """`{"error": code, "message": ..., "errors": [{"parameter", "message"}], ...}`."""
    body: dict[str, Any] = {"error": ERROR_CODES.get(status, "error"), "message": message}
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return _json(body, status, headers)


def sorted_allow(headers: Mapping[str, str] | None) -> Mapping[str, str] | None:
    """The headers with `Allow`'s methods in one order (routing lists them as a set)."""
    if not headers or "Allow" not in headers:
        return headers
    methods = sorted({m.strip() for m in headers["Allow"].split(",") if m.strip()})
    return {**headers, "Allow": ", ".join(methods)}


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    # The headers it carries go out too: a 405's `Allow` (RFC 9110 requires it).
    return error_response(exc.status_code, str(exc.detail), headers=sorted_allow(exc.headers))


#: Starlette's own 404 and 405 (and any HTTPException) as the JSON error body.
JSON_ERRORS: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    HTTPException: _http_error
}


def health_routes(
    checks: Mapping[str, Check],
    *,
    service: str,
    required: Collection[str],
    prefix: str = "",
    details: Callable[[], Mapping[str, Any]] | None = None,
    stopping: Callable[[], bool] | None = None,
) -> list[BaseRoute]:
    """`{prefix}/health` (the process answers, and says which `service` it is), `{prefix}/ready`
    (each dependency with its state; 503 unless every `required` one is up and the process is
    not `stopping`) and `/metrics`. None of them is a New Relic transaction."""

    async def health(_: Request) -> Response:
        ignore_transaction()
        return _json({"status": "ok", "service": service}, 200)

    async def ready(_: Request) -> Response:
        ignore_transaction()
        names = list(checks)
        results = await asyncio.gather(*(checks[name]() for name in names))
        state = dict(zip(names, results, strict=True))
        ok = all(state[name]["status"] == "up" for name in required)
        ok = ok and not (stopping is not None and stopping())
        body = {"status": "ready" if ok else "not_ready", "checks": state}
        return _json({**body, **(details() if details else {})}, 200 if ok else 503)

    async def metrics(_: Request) -> Response:
        ignore_transaction()
        payload, content_type = await metrics_payload()
        return Response(payload, media_type=content_type)

    return [
        Route(f"{prefix}/health", health, methods=["GET"]),
        Route(f"{prefix}/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


async def up_when(condition: Callable[[], bool]) -> dict[str, Any]:
    """A check of something the process knows without asking anyone (a connection's state)."""
    return {"status": "up" if condition() else "down"}
