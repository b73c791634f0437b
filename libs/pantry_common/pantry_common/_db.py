"""The asyncpg pool: one per process, opened in the service's lifespan."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import orjson
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from ._settings import CommonSettings

log = logging.getLogger(__name__)

Pool = asyncpg.Pool


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind,
            encoder=lambda value: orjson.dumps(value).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


async def create_pool(
    settings: CommonSettings, *, wait_seconds: float = 0.0, dsn: str | None = None
) -> Pool:
    """Open the pool, waiting up to `wait_seconds` for PostgreSQL to accept connections."""

    async def _open() -> Pool:
        return await asyncpg.create_pool(
            dsn or str(settings.database_url),
            min_size=min(settings.db_pool_min, settings.db_pool_max),
            max_size=settings.db_pool_max,
            init=_init_connection,
            command_timeout=settings.db_statement_timeout_ms / 1000 + 1,
            # A search statement of the richest shape (text, foods that stand for several,
            # every filter, catching up) is over asyncpg's default of 15 kB, and one over it
            # is parsed and planned at every execution: prepared once, as the others are.
            max_cacheable_statement_size=64 * 1024,
            server_settings={
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "application_name": "pantry",
                # A search's cost estimate passes jit_above_cost at a large catalogue, and
                # compiling takes longer than the whole search: no JIT for these queries.
                "jit": "off",
            },
        )

    if wait_seconds <= 0:
        return await _open()
    async for attempt in _until_reachable(wait_seconds):
        with attempt:
            return await _open()
    raise AssertionError("unreachable")  # pragma: no cover


def _until_reachable(wait_seconds: float) -> AsyncRetrying:
    """Retry while PostgreSQL refuses or drops connections (a server still starting, a network
    policy that has not admitted a new pod yet), for up to `wait_seconds`."""
    return AsyncRetrying(
        retry=retry_if_exception_type((OSError, TimeoutError, asyncpg.CannotConnectNowError)),
        wait=wait_exponential(multiplier=0.2, max=3),
        stop=stop_after_delay(wait_seconds),
        reraise=True,
    )


async def wait_for_database(dsn: str, wait_seconds: float) -> None:
    """Return once PostgreSQL at `dsn` accepts a connection; raise its error after the wait."""
    async for attempt in _until_reachable(wait_seconds):
        with attempt:
            conn = await asyncpg.connect(dsn, timeout=min(10.0, max(wait_seconds, 1.0)))
            await conn.close()


#: SQLSTATE classes that mean "the database is not there for us now", not "the query is wrong":
#: connection exception, insufficient resources, object not in prerequisite state (a database
#: that refuses connections), operator intervention (shutdown), system error, invalid catalog.
_UNAVAILABLE_CLASSES = frozenset({"08", "53", "55", "57", "58", "3D"})


def is_unavailable(exc: BaseException) -> bool:
    """Whether an error means PostgreSQL is unreachable or refusing us (a 503, not a 500)."""
    if isinstance(exc, (asyncpg.InterfaceError, OSError, TimeoutError)):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None) or ""
        return state[:2] in _UNAVAILABLE_CLASSES
    return False
