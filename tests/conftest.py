"""Session-scoped real servers; every test gets its own database and Redis key prefix."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from blockbuster import BlockBuster, blockbuster_ctx
from redis.asyncio import Redis

from pantry_api.app import create_app
from pantry_api.settings import ApiSettings
from pantry_common import CommonSettings, FoodVocabulary, create_pool, migrate, seed_catalogue
from pantry_engine.app import run as engine_run
from pantry_engine.settings import EngineSettings
from pantry_realtime.app import create_app as create_realtime_app
from pantry_realtime.settings import RealtimeSettings

from .servers import ServerUrls, discover_servers, free_port, serve
from .thirdparty import ThirdParty

# tests/cluster runs on the CI cluster only: `make cluster-test` (PANTRY_CLUSTER=kind).
collect_ignore = [] if os.environ.get("PANTRY_CLUSTER") else ["cluster"]


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def servers() -> Iterator[ServerUrls]:
    with contextlib.ExitStack() as stack:
        yield discover_servers(stack)


@pytest.fixture(scope="session")
def vocab() -> FoodVocabulary:
    return FoodVocabulary.default()


async def _admin(servers: ServerUrls) -> asyncpg.Connection:
    return await asyncpg.connect(servers.postgres)


@pytest.fixture(scope="session")
async def template_db(servers: ServerUrls, vocab: FoodVocabulary) -> AsyncIterator[str]:
    """A migrated database with the vocabulary and the starter catalogue, cloned per test."""
    name = f"pantry_tpl_{uuid.uuid4().hex[:10]}"
    admin = await _admin(servers)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = with_database(servers.postgres, name)
    try:
        await asyncio.to_thread(migrate, dsn)
        pool = await create_pool(CommonSettings(), dsn=dsn)
        try:
            await seed_catalogue(pool, vocab)
        finally:
            await pool.close()
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _clone(servers: ServerUrls, template: str) -> str:
    name = f"pantry_t_{uuid.uuid4().hex[:12]}"
    admin = await _admin(servers)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    return name


async def drop_database(servers: ServerUrls, name: str) -> None:
    admin = await _admin(servers)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database(servers: ServerUrls, template_db: str) -> AsyncIterator[str]:
    """A DSN of a database of this test's own (seeded)."""
    name = await _clone(servers, template_db)
    try:
        yield with_database(servers.postgres, name)
    finally:
        await drop_database(servers, name)


@pytest.fixture(scope="module")
async def shared_database(servers: ServerUrls, template_db: str) -> AsyncIterator[str]:
    """A seeded database shared by the read-only tests of one module."""
    name = await _clone(servers, template_db)
    try:
        yield with_database(servers.postgres, name)
    finally:
        await drop_database(servers, name)


#: Tests fire requests faster than a person, from one address: limits that the tests of the
#: limits alone come near, while every request still takes a token in Redis.
TEST_LIMITS: dict[str, Any] = {
    "rate_limit_search_per_second": 1000,
    "rate_limit_search_burst": 1000,
    "rate_limit_import_per_second": 1000,
    "rate_limit_import_burst": 1000,
}


def settings_for(dsn: str, servers: ServerUrls, redis_url: str | None = None) -> CommonSettings:
    return CommonSettings.model_validate(
        {
            "database_url": dsn,
            "redis_url": redis_url or servers.redis,
            "rabbitmq_url": servers.rabbitmq,
            "redis_prefix": f"t{uuid.uuid4().hex[:12]}",
            "environment": "test",
        }
    )


@contextlib.asynccontextmanager
async def api_server(
    common: CommonSettings, settings: ApiSettings | None = None, port: int | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        common, settings or ApiSettings(startup_wait_seconds=0, access_log=False, **TEST_LIMITS)
    )
    async with (
        serve(app, port=port) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=10) as client,
    ):
        yield client


@pytest.fixture(scope="module")
async def shared_api(shared_database: str, servers: ServerUrls) -> AsyncIterator[httpx.AsyncClient]:
    """One api over the module's shared database, with a Redis prefix of its own."""
    common = settings_for(shared_database, servers)
    async with api_server(common) as client:
        yield client
    redis = Redis.from_url(servers.redis)
    keys = [k async for k in redis.scan_iter(f"{common.redis_prefix}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


@pytest.fixture
async def api(database: str, servers: ServerUrls) -> AsyncIterator[httpx.AsyncClient]:
    async with api_server(settings_for(database, servers)) as client:
        yield client


# Small blocking look-ups that libraries make when they open a connection: redis-py reads its
# own package metadata, asyncpg looks for client certificates under ~/.postgresql.
_ALLOWED_BLOCKING = [
    ("redis/utils.py", "get_lib_version"),
    ("asyncpg/connect_utils.py", "_parse_connect_dsn_and_args"),
]


@pytest.fixture(autouse=True)
def no_blocking_calls(request: pytest.FixtureRequest) -> Iterator[BlockBuster | None]:
    """Fail a test whose code blocks the event loop (file or socket I/O, time.sleep)."""
    if request.node.get_closest_marker("client_tooling_blocks"):
        yield None
        return
    with blockbuster_ctx() as bb:
        for filename, caller in _ALLOWED_BLOCKING:
            for function in bb.functions.values():
                function.can_block_in(filename, caller)
        yield bb


@pytest.fixture
async def vhost(servers: ServerUrls) -> AsyncIterator[str]:
    """A RabbitMQ virtual host of this test's own; yields its AMQP URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    user = urlsplit(servers.rabbitmq).username or "guest"
    await servers.ctl("add_vhost", name)
    await servers.ctl("set_permissions", "-p", name, user, ".*", ".*", ".*")
    try:
        yield servers.rabbitmq_vhost(name)
    finally:
        await servers.ctl("delete_vhost", name)


@pytest.fixture
async def redis(servers: ServerUrls) -> AsyncIterator[Redis]:
    """A client of the test Redis server."""
    client = Redis.from_url(servers.redis)
    yield client
    await client.aclose()


@pytest.fixture
async def thirdparty() -> AsyncIterator[tuple[ThirdParty, str]]:
    """TheMealDB, a recipe site and a JSON-LD feed, recorded-shape, on loopback."""
    fake = ThirdParty()
    async with serve(fake.app()) as base_url:
        yield fake, base_url


@dataclass
class Stack:
    """Settings for the three services over one test's database, Redis prefix and vhost."""

    common: CommonSettings
    api: ApiSettings
    engine: EngineSettings
    realtime: RealtimeSettings

    def env(self) -> dict[str, str]:
        """The same settings as environment variables, for services run as processes."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PANTRY_")}
        for prefix, model in (
            ("PANTRY_", self.common),
            ("PANTRY_API_", self.api),
            ("PANTRY_ENGINE_", self.engine),
            ("PANTRY_REALTIME_", self.realtime),
        ):
            for name, value in model.model_dump().items():
                if value is not None:
                    env[f"{prefix}{name.upper()}"] = (
                        str(value).lower() if isinstance(value, bool) else str(value)
                    )
        return env


def make_stack(
    database: str,
    servers: ServerUrls,
    amqp: str,
    *,
    feed_url: str | None = None,
    themealdb_url: str | None = None,
    **engine: Any,
) -> Stack:
    common = CommonSettings.model_validate(
        {
            "database_url": database,
            "redis_url": servers.redis,
            "rabbitmq_url": amqp,
            "redis_prefix": f"t{uuid.uuid4().hex[:12]}",
            "environment": "test",
        }
    )
    realtime_port = free_port()
    api = ApiSettings(
        startup_wait_seconds=0,
        access_log=True,
        port=free_port(),
        events_url=f"http://127.0.0.1:{realtime_port}/events",
        import_allow_private=True,
        **TEST_LIMITS,
    )
    sources = ["catalogue"] + (["themealdb"] if themealdb_url else [])
    engine_settings = EngineSettings.model_validate(
        {
            "port": free_port(),
            "sources": ",".join(sources),
            "catalogue_url": feed_url,
            "themealdb_url": themealdb_url or "http://127.0.0.1:9/unused",
            "allow_private_urls": True,
            "retry_delay_ms": 200,
            "source_timeout_seconds": 5,
            "shutdown_grace_seconds": 10,
            **engine,
        }
    )
    realtime = RealtimeSettings(
        port=realtime_port,
        cors_origins=f"http://127.0.0.1:{api.port}",
        heartbeat_seconds=1,
    )
    return Stack(common, api, engine_settings, realtime)


@contextlib.asynccontextmanager
async def running_engine(stack: Stack) -> AsyncIterator[None]:
    """The engine's real `run()`, in this process, until the block ends (then SIGTERM-like)."""
    stop = asyncio.Event()
    task = asyncio.create_task(engine_run(stack.common, stack.engine, stop))
    url = f"http://127.0.0.1:{stack.engine.port}/ready"
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(300):
            if task.done():
                task.result()
            try:
                if (await client.get(url)).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("engine did not become ready")
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@contextlib.asynccontextmanager
async def running_realtime(stack: Stack) -> AsyncIterator[str]:
    app = create_realtime_app(stack.common, stack.realtime)
    async with serve(app, port=stack.realtime.port) as base_url:
        yield base_url
