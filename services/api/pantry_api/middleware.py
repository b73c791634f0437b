"""One JSON log line and one latency observation per request (plain ASGI: no body buffering)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pantry_common import linking_metadata, log_context

from .metrics import HTTP_LATENCY

log = logging.getLogger("pantry_api.access")


class AccessMiddleware:
    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:64]
                break
        request_id = request_id or uuid.uuid4().hex
        info: dict[str, Any] = {"status": 500, "cache": None}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                info["status"] = message["status"]
                # The transaction ends with the response: keep its ids for the log line.
                info["trace"] = linking_metadata()
                headers = list(message.get("headers", []))
                for name, value in headers:
                    if name == b"x-cache":
                        info["cache"] = value.decode()
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            with log_context(request_id=request_id):
                await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or scope.get("pantry.route") or "unmatched"
            HTTP_LATENCY.labels(template, scope["method"], str(info["status"])).observe(elapsed)
            if self.access_log:
                log.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": template,
                        "status": info["status"],
                        "duration_ms": round(elapsed * 1000, 2),
                        "cache": info["cache"],
                        **(info.get("trace") or {}),
                    },
                )


class HeadAsGet:
    """HEAD is GET without the body (RFC 9110 §9.3.2): every GET route answers it.

    FastAPI routes a GET route's HEAD to a 405; here it is routed as the GET, and the body is
    dropped while the headers (`content-length` included) go out as they are.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        inner = {**scope, "method": "GET"}
        try:
            await self.app(inner, receive, without_body)
        finally:
            # What routing learnt (the route, for the latency metric) is the request's.
            for key in ("route", "pantry.route"):
                if key in inner:
                    scope[key] = inner[key]
