"""Every error leaves as JSON: `{"error": code, "message": ..., "errors": [...]}`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from pantry_common import QueryError, error_response, is_unavailable, notice_error

log = logging.getLogger(__name__)


@contextmanager
def postgres_required() -> Iterator[None]:
    """Turn "PostgreSQL is not there" (not "the query is wrong") into a 503."""
    try:
        yield
    except Exception as exc:
        if is_unavailable(exc):
            raise ServiceUnavailable("postgres") from exc
        raise


class ServiceUnavailable(Exception):
    """A dependency the request needs is down (PostgreSQL)."""

    def __init__(self, dependency: str) -> None:
        super().__init__(dependency)
        self.dependency = dependency


def _parameter(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("query", "path", "body")]
    return ".".join(parts) or "request"


def allowing_head(headers: Mapping[str, str] | None) -> Mapping[str, str] | None:
    """FastAPI's routes list `GET` alone in a 405's `Allow`; every GET route answers HEAD too
    (`middleware.HeadAsGet`), so `Allow` says so."""
    if not headers or "Allow" not in headers:
        return headers
    methods = [m.strip() for m in headers["Allow"].split(",") if m.strip()]
    if "GET" in methods and "HEAD" not in methods:
        methods.append("HEAD")
    return {**headers, "Allow": ", ".join(sorted(methods))}


def install_error_handlers(app: FastAPI) -> None:
    async def validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [{"parameter": _parameter(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        names = ", ".join(sorted({e["parameter"] for e in errors}))
        return error_response(422, f"invalid parameter: {names}", errors=errors)

    async def query_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, QueryError)
        return error_response(
            422,
            f"invalid parameter: {exc.parameter}",
            errors=[{"parameter": exc.parameter, "message": exc.message}],
        )

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        # The headers the exception carries go out too: a 405's `Allow` (RFC 9110 requires it).
        return error_response(exc.status_code, str(exc.detail), headers=allowing_head(exc.headers))

    async def unavailable(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceUnavailable)
        return error_response(
            503,
            f"{exc.dependency} is unavailable; try again shortly",
            headers={"Retry-After": "2"},
            dependency=exc.dependency,
        )

    async def unexpected(request: Request, exc: Exception) -> Response:
        error_id = uuid.uuid4().hex
        notice_error(exc, error_id=error_id, path=request.url.path)
        log.exception(
            "unhandled error",
            extra={"error_id": error_id, "path": request.url.path},
            exc_info=exc,
        )
        return error_response(500, "internal error", error_id=error_id)

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(QueryError, query_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(ServiceUnavailable, unavailable)
    app.add_exception_handler(Exception, unexpected)
