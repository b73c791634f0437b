"""`POST /api/v1/recipes/import`: ask the engine to import a recipe page by URL."""

from __future__ import annotations

import uuid
from typing import Annotated, NoReturn

import orjson
from fastapi import APIRouter, HTTPException, Path, Request
from starlette.responses import Response

from pantry_common import (
    RECIPE_IMPORT,
    AddressRefused,
    Envelope,
    HostUnresolved,
    RecipeImport,
    check_public_url,
    enqueue,
    error_response,
    trace_headers,
)

from ..deps import API_PREFIX, State
from ..errors import postgres_required
from ..models import TOO_MANY_REQUESTS, ErrorBody, ImportAccepted, ImportJob

router = APIRouter(prefix=API_PREFIX, tags=["import"])


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
                        "properties": {
                            "url": {
                                "type": "string",
                                "format": "uri",
                                "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://",
                                "maxLength": 2048,
                                "description": "An http or https URL, without credentials, "
                                "of a public address.",
                            }
                        },
                    }
                }
            },
        }
    },
    responses={
        413: {"model": ErrorBody},
        415: {"model": ErrorBody},
        422: {"model": ErrorBody},
        429: TOO_MANY_REQUESTS,
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
        try:
            await check_public_url(parsed.scheme, parsed.host, parsed.port)
        except AddressRefused as exc:
            return _invalid("url", str(exc))
        except HostUnresolved:
            return _invalid("url", "the URL points at a host name that does not resolve")
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


@router.get("/recipes/import", include_in_schema=False, response_model=None)
async def import_by_get() -> NoReturn:
    """`GET /recipes/import` would be routed as `GET /recipes/{recipe_id}` with the id "import"
    (a 422); the resource is there and takes POST only: a 405 that says so."""
    raise HTTPException(405, "Method Not Allowed", headers={"Allow": "POST"})


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
