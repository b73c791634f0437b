"""The api as its users run it: `python -m pantry_api migrate|seed|serve` as real processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from pantry_common import head_revision

from .conftest import drop_database, with_database
from .servers import ServerUrls, free_port

pytestmark = pytest.mark.integration

HEAD = head_revision()


@pytest.fixture
async def empty_database(servers: ServerUrls) -> AsyncIterator[str]:
    name = f"pantry_e_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(servers.postgres)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(servers.postgres, name)
    finally:
        await admin.close()
        await drop_database(servers, name)


def _env(dsn: str, servers: ServerUrls, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANTRY_")}
    env.update(
        PANTRY_DATABASE_URL=dsn,
        PANTRY_REDIS_URL=servers.redis,
        PANTRY_REDIS_PREFIX=f"p{uuid.uuid4().hex[:10]}",
        **extra,
    )
    return env


async def _start(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pantry_api",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _run(env: dict[str, str], *args: str) -> list[dict[str, object]]:
    proc = await _start(env, *args)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()[-2000:]
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


async def test_migrate_and_seed_are_safe_to_run_twice(
    empty_database: str, servers: ServerUrls
) -> None:
    env = _env(empty_database, servers)
    await _run(env, "migrate")
    await _run(env, "migrate")
    first = [line for line in await _run(env, "seed") if line["message"] == "catalogue seeded"][0]
    second = [line for line in await _run(env, "seed") if line["message"] == "catalogue seeded"][0]
    assert first["recipes"] == second["recipes"]
    assert isinstance(first["recipes"], int) and first["recipes"] >= 150
    assert first["new"] == first["recipes"]
    assert second["new"] == 0
    assert second["updated"] == second["recipes"]
    conn = await asyncpg.connect(empty_database)
    try:
        assert await conn.fetchval("SELECT count(*) FROM recipes") == first["recipes"]
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == HEAD
        assert await conn.fetchval("SELECT count(*) FROM foods") == first["foods"]
        assert (
            await conn.fetchval("SELECT food FROM food_aliases WHERE alias = 'scallion'")
            == "green onion"
        )
    finally:
        await conn.close()


async def _forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def test_migrate_waits_for_a_database_that_is_not_reachable_yet(
    empty_database: str, servers: ServerUrls
) -> None:
    """A migration Job may start before its database answers (a server still starting, a network
    policy that has not admitted the new pod): it waits, then migrates, rather than failing."""
    target = urlsplit(empty_database)
    port = free_port()
    late = urlunsplit(
        target._replace(netloc=f"{target.username}:{target.password}@127.0.0.1:{port}")
    )
    env = _env(late, servers, PANTRY_API_STARTUP_WAIT_SECONDS="60")
    proc = await _start(env, "migrate")

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(target.hostname, target.port)
        await asyncio.gather(_forward(reader, up_writer), _forward(up_reader, writer))

    await asyncio.sleep(2)  # refused connections meanwhile
    assert proc.returncode is None
    proxy = await asyncio.start_server(relay, "127.0.0.1", port)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 120)
    finally:
        proxy.close()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert "migrations applied" in out.decode()
    conn = await asyncpg.connect(empty_database)
    try:
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == HEAD
    finally:
        await conn.close()


async def test_migrate_gives_up_on_an_unreachable_database_after_its_wait(
    servers: ServerUrls,
) -> None:
    env = _env(
        f"postgresql://pantry:x@127.0.0.1:{free_port()}/pantry",
        servers,
        PANTRY_API_STARTUP_WAIT_SECONDS="1",
    )
    proc = await _start(env, "migrate")
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode != 0
    assert "migrations applied" not in out.decode()
    assert "Connect call failed" in err.decode() or "refused" in err.decode().lower()


async def test_served_api_answers_and_logs_one_json_line_per_request(
    empty_database: str, servers: ServerUrls
) -> None:
    port = free_port()
    env = _env(empty_database, servers, PANTRY_API_PORT=str(port))
    await _run(env, "migrate")
    await _run(env, "seed")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pantry_api",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            for _ in range(200):
                try:
                    if (await client.get("/api/v1/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            response = await client.get(
                "/api/v1/recipes/search",
                params={"q": "hummus"},
                headers={"X-Request-ID": "req-123"},
            )
            assert response.status_code == 200
            assert response.headers["x-request-id"] == "req-123"
            assert response.json()["results"][0]["title"] == "Hummus"
    finally:
        proc.terminate()
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    requests = [line for line in lines if line.get("message") == "request"]
    search = [line for line in requests if line["path"] == "/api/v1/recipes/search"]
    assert len(search) == 1
    assert search[0]["request_id"] == "req-123"
    assert search[0]["status"] == 200
    assert search[0]["service"] == "api"
    assert search[0]["cache"] == "miss"
    assert "hummus" not in json.dumps(search[0])  # the query string stays out of the logs
    assert all(line["level"] in ("INFO", "WARNING") for line in lines)
