"""Where the test servers are, and how to run an app on a real socket for a test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import uvicorn


@dataclass(frozen=True)
class ServerUrls:
    postgres: str  # a role that may CREATE DATABASE
    redis: str
    rabbitmq: str
    #: How to run rabbitmqctl against that server (vhosts per test, outages).
    rabbitmqctl: tuple[str, ...] = ("rabbitmqctl",)

    def rabbitmq_vhost(self, vhost: str) -> str:
        parts = urlsplit(self.rabbitmq)
        return urlunsplit(parts._replace(path=f"/{vhost}"))

    async def ctl(self, *args: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            *self.rabbitmqctl,
            "-q",
            *args,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        if proc.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {err.decode()[-500:]}")


def _docker_available() -> bool:
    return shutil.which("docker") is not None and os.path.exists("/var/run/docker.sock")


def discover_servers(stack: contextlib.ExitStack) -> ServerUrls:
    """The URLs from the environment (what `make services` and CI start); without them, and
    with a Docker engine present, throwaway containers from testcontainers."""
    env = os.environ
    postgres = env.get("PANTRY_TEST_DATABASE_URL") or env.get("PANTRY_DATABASE_URL")
    redis = env.get("PANTRY_TEST_REDIS_URL") or env.get("PANTRY_REDIS_URL")
    rabbitmq = env.get("PANTRY_TEST_RABBITMQ_URL") or env.get("PANTRY_RABBITMQ_URL")
    if postgres and redis:
        ctl = env.get("PANTRY_TEST_RABBITMQCTL", "rabbitmqctl")
        return ServerUrls(
            postgres, redis, rabbitmq or "amqp://guest:guest@127.0.0.1:5672/", tuple(ctl.split())
        )
    if not _docker_available():
        raise RuntimeError(
            "No test servers: set PANTRY_TEST_DATABASE_URL and PANTRY_TEST_REDIS_URL "
            "(`make services` starts them and prints them) or run a Docker engine."
        )
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer
    from testcontainers.redis import RedisContainer

    pg = stack.enter_context(PostgresContainer("postgres:16-alpine", driver=None))
    rd = stack.enter_context(RedisContainer("redis:7-alpine"))
    mq = stack.enter_context(RabbitMqContainer("rabbitmq:3.13-alpine"))
    redis_url = f"redis://{rd.get_container_host_ip()}:{rd.get_exposed_port(6379)}/0"
    amqp = f"amqp://guest:guest@{mq.get_container_host_ip()}:{mq.get_exposed_port(5672)}/"
    docker_ctl = ("docker", "exec", mq.get_wrapped_container().id, "rabbitmqctl")
    return ServerUrls(pg.get_connection_url(), redis_url, amqp, docker_ctl)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serve(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """Run an ASGI app with uvicorn on a (free) loopback port; yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            if task.done():
                task.result()
                raise RuntimeError("server exited during start-up")
            await asyncio.sleep(0.01)
        else:
            raise RuntimeError("server did not start within 5 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


REDIS_SERVER = shutil.which("redis-server")


class RedisProcess:
    """A real redis-server of a test's own, on a free port, that the test can stop and start."""

    def __init__(self) -> None:
        binary = REDIS_SERVER
        if binary is None:
            raise RuntimeError("redis-server must be on PATH for this test")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            *self._args, stdout=asyncio.subprocess.DEVNULL
        )
        for _ in range(250):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            await asyncio.sleep(0.02)
        raise RuntimeError("redis-server did not start within 5 s")

    async def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            await asyncio.wait_for(self._proc.wait(), 10)
            self._proc = None

    async def __aenter__(self) -> RedisProcess:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()


class ServiceProcess:
    """One of our services as a real process (`python -m <module>`), with its output kept."""

    def __init__(self, module: str, env: dict[str, str], health_url: str) -> None:
        self.module = module
        self.env = env
        self.health_url = health_url
        self.proc: asyncio.subprocess.Process | None = None
        self.output = bytearray()
        self._reader: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 30) -> None:
        import httpx

        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            self.module,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read(self.proc))
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while asyncio.get_running_loop().time() < deadline:
                if self.proc.returncode is not None:
                    break
                try:
                    if (await client.get(self.health_url)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.module} did not start:\n{self.text[-3000:]}")

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(65536):
            self.output.extend(chunk)

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")

    def lines(self) -> list[dict[str, Any]]:
        import json

        out = []
        for line in self.text.splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)
        return self.proc.returncode


class PostgresStatements:
    """A TCP proxy in front of the real PostgreSQL that records the statements clients run.

    It reads the frontend messages of the wire protocol (no TLS: the DSN it gives says
    `sslmode=disable`): a simple `Query` carries its SQL, an extended-protocol `Bind` names a
    statement that an earlier `Parse` on the same connection defined. Everything is forwarded
    as it is.
    """

    def __init__(self, dsn: str) -> None:
        parts = urlsplit(dsn)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._dsn = parts
        self.statements: list[str] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def dsn(self, database_dsn: str) -> str:
        """`database_dsn`, through the proxy."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        parts = urlsplit(database_dsn)
        netloc = parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{port}"
        netloc_out = f"{netloc[0]}@{host}" if len(netloc) == 2 else host
        query = f"{parts.query}&sslmode=disable" if parts.query else "sslmode=disable"
        return urlunsplit(parts._replace(netloc=netloc_out, query=query))

    async def __aenter__(self) -> PostgresStatements:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        prepared: dict[bytes, str] = {}

        async def upstream() -> None:
            first = await reader.readexactly(4)  # the startup message has no type byte
            up_writer.write(first + await reader.readexactly(int.from_bytes(first) - 4))
            while True:
                head = await reader.readexactly(5)
                body = await reader.readexactly(int.from_bytes(head[1:]) - 4)
                kind = head[:1]
                if kind == b"Q":
                    self.statements.append(body.rstrip(b"\0").decode())
                elif kind == b"P":
                    name, sql, _ = body.split(b"\0", 2)
                    prepared[name] = sql.decode()
                elif kind == b"B":
                    _, name, _ = body.split(b"\0", 2)
                    self.statements.append(prepared.get(name, "?"))
                up_writer.write(head + body)
                await up_writer.drain()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()

        try:
            await asyncio.gather(upstream(), downstream())
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._tasks.discard(task)
            for w in (writer, up_writer):
                w.close()
