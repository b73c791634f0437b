"""`POST /api/v1/recipes/import`: ask the engine to import a recipe page by URL."""

from __future__ import annotations

import ipaddress
import socket
import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, HTTPException, Path, Request
from starlette.responses import Response

from pantry_common import RECIPE_IMPORT, Envelope, RecipeImport, enqueue, trace_headers

from ..deps import API_PREFIX, State
from ..errors import error_response, postgres_required
from ..models import ErrorBody, ImportAccepted, ImportJob

router = APIRouter(prefix=API_PREFIX, tags=["import"])


def _refused_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not ip.is_global or ip.is_multicast


async def _check_host(host: str, port: int) -> str | None:
    """Why a host may not be fetched (loopback, private, link-local...), or None."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        addresses = [host.strip("[]")]
    except ValueError:
        if host.lower() in ("localhost", "localhost.localdomain") or host.endswith(".local"):
            return "a local host name"
        import asyncio

        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError:
            return "a host name that does not resolve"
        addresses = [str(info[4][0]) for info in infos]
    if any(_refused_address(a) for a in addresses):
        return "a loopback, private or reserved address"
    return None


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise HTTPException(413, f"the body is larger than {limit} bytes")
    return bytes(body)


def _invalid(parameter: str, message: str) -> Response:
    return error_response(
        422,
        f"invalid parameter: {parameter}",
        errors=[{"parameter": parameter, "message": message}],
    )


@router.post(
    "/recipes/import",
    status_code=202,
    response_model=ImportAccepted,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["url"],
                        "properties": {"url": {"type": "string", "format": "uri"}},
                    }
                }
            },
        }
    },
    responses={
        413: {"model": ErrorBody},
        415: {"model": ErrorBody},
        422: {"model": ErrorBody},
        503: {"model": ErrorBody},
    },
)
async def import_recipe(request: Request, state: State) -> Response:
    """Accepted (202) once it is stored; the engine fetches and analyses the page."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return error_response(415, 'send the URL as JSON: {"url": "https://…"}')
    raw = await _read_body(request, state.settings.import_max_body_bytes)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _invalid("body", "the body is not JSON")
    url = data.get("url") if isinstance(data, dict) else None
    if not isinstance(url, str) or not url.strip() or len(url) > 2048:
        return _invalid("url", "give the page's URL as a string of at most 2048 characters")
    try:
        message = RecipeImport.model_validate({"job_id": uuid.uuid4(), "url": url.strip()})
    except ValueError:
        return _invalid("url", "not an http(s) URL")
    parsed = message.url
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return _invalid("url", "only http and https URLs can be imported")
    if parsed.username or parsed.password:
        return _invalid("url", "URLs with credentials are refused")
    if not state.settings.import_allow_private:
        reason = await _check_host(parsed.host, parsed.port or 443)
        if reason is not None:
            return _invalid("url", f"the URL points at {reason}")
    job_id = str(message.job_id)
    with postgres_required():
        async with state.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO import_jobs (job_id, url, status) VALUES ($1, $2, 'queued')",
                job_id,
                str(parsed),
            )
            await enqueue(conn, Envelope.wrap(message, **trace_headers()), RECIPE_IMPORT)
    state.relay.wake()
    body = ImportAccepted(
        job_id=job_id, status="queued", status_url=f"/api/v1/recipes/import/{job_id}"
    )
    return Response(
        orjson.dumps(body.model_dump()),
        status_code=202,
        media_type="application/json",
        headers={"Location": body.status_url},
    )


@router.get(
    "/recipes/import/{job_id}",
    response_model=ImportJob,
    responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def import_status(state: State, job_id: Annotated[uuid.UUID, Path()]) -> ImportJob:
    with postgres_required():
        row = await state.pool.fetchrow(
            "SELECT job_id::text, url, status, recipe_id, error FROM import_jobs WHERE job_id = $1",
            job_id,
        )
    if row is None:
        raise HTTPException(404, f"no import job {job_id}")
    return ImportJob(**dict(row))
