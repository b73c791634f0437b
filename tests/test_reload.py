"""The services' reload mode (`--reload`: the cluster's dev overlay, `make dev-watch`), as real
processes: a change saved to a service's code is what the running process answers next, with
nothing restarted by hand; the engine's restart stops its consumer as SIGTERM would."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from .servers import ServerUrls, free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Service:
    name: str
    package: str
    source: str  # the package's directory in the repository
    command: tuple[str, ...]
    port_setting: str
    health: str
    #: The file whose `service="<name>"` names the service in its health answer.
    routes: str


SERVICES = {
    "api": Service(
        "api",
        "pantry_api",
        "services/api/pantry_api",
        ("-m", "pantry_api", "serve", "--reload"),
        "PANTRY_API_PORT",
        "/api/v1/health",
        "app.py",
    ),
    "recipe-engine": Service(
        "recipe-engine",
        "pantry_engine",
        "services/recipe-engine/pantry_engine",
        ("-m", "pantry_engine", "--reload"),
        "PANTRY_ENGINE_PORT",
        "/health",
        "http.py",
    ),
    "realtime": Service(
        "realtime",
        "pantry_realtime",
        "services/realtime/pantry_realtime",
        ("-m", "pantry_realtime", "--reload"),
        "PANTRY_REALTIME_PORT",
        "/health",
        "app.py",
    ),
}


@pytest.fixture
async def reloading(
    request: pytest.FixtureRequest, tmp_path: Path, database: str, servers: ServerUrls, vhost: str
) -> AsyncIterator[tuple[Service, Path, httpx.AsyncClient, asyncio.subprocess.Process]]:
    """The service run from a copy of its source (as the dev overlay runs it from the mounted
    tree, PYTHONPATH before the installed packages), answering on a port of its own."""
    service = SERVICES[request.param]
    src = tmp_path / "src"
    await asyncio.to_thread(shutil.copytree, ROOT / service.source, src / service.package)
    await asyncio.to_thread(
        shutil.copytree, ROOT / "libs/pantry_common/pantry_common", src / "pantry_common"
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANTRY_")}
    env.update(
        PYTHONPATH=str(src),
        PYTHONDONTWRITEBYTECODE="1",
        PANTRY_DATABASE_URL=database,
        PANTRY_REDIS_URL=servers.redis,
        PANTRY_REDIS_PREFIX=f"p{uuid.uuid4().hex[:10]}",
        PANTRY_RABBITMQ_URL=vhost,
        PANTRY_ENGINE_SOURCES="catalogue",
        **{service.port_setting: str(port)},
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *service.command,
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            await _answer(client, service, service.name, proc)
            yield service, src, client, proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 40)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _answer(
    client: httpx.AsyncClient, service: Service, name: str, proc: asyncio.subprocess.Process
) -> None:
    """Wait (60 s at most) until the health answer names the service `name`."""
    for _ in range(600):
        assert proc.returncode is None, (await proc.stdout.read()).decode()[-3000:]  # type: ignore[union-attr]
        try:
            response = await client.get(service.health)
            if response.status_code == 200 and response.json().get("service") == name:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{service.name} never answered as {name!r}")


async def _rename(src: Path, service: Service, old: str, new: str) -> None:
    await asyncio.to_thread(_rewrite, src, service, old, new)


def _rewrite(src: Path, service: Service, old: str, new: str) -> None:
    path = src / service.package / service.routes
    text = path.read_text()
    assert text.count(f'service="{old}"') == 1
    path.write_text(text.replace(f'service="{old}"', f'service="{new}"'))


@pytest.mark.parametrize("reloading", list(SERVICES), indirect=True)
async def test_a_saved_change_is_what_the_process_answers_next(
    reloading: tuple[Service, Path, httpx.AsyncClient, asyncio.subprocess.Process],
) -> None:
    service, src, client, proc = reloading
    changed = f"{service.name}-{uuid.uuid4().hex[:6]}"
    await _rename(src, service, service.name, changed)
    await _answer(client, service, changed, proc)
    # And back: every save is picked up, not only the first.
    await _rename(src, service, changed, service.name)
    await _answer(client, service, service.name, proc)
    assert proc.returncode is None


@pytest.mark.parametrize("reloading", ["recipe-engine"], indirect=True)
async def test_the_engine_restarts_through_its_graceful_stop(
    reloading: tuple[Service, Path, httpx.AsyncClient, asyncio.subprocess.Process],
) -> None:
    """The watcher stops the engine as SIGTERM does (consumers cancelled, what they hold acked or
    requeued, connections closed), then starts the changed code: its log says both."""
    service, src, client, proc = reloading
    await _rename(src, service, service.name, "recipe-engine-changed")
    await _answer(client, service, "recipe-engine-changed", proc)
    proc.send_signal(signal.SIGTERM)
    out = (await asyncio.wait_for(proc.stdout.read(), 60)).decode()  # type: ignore[union-attr]
    await proc.wait()
    assert proc.returncode == 0, out[-3000:]
    messages = [json.loads(line)["message"] for line in out.splitlines() if line.startswith("{")]
    restart = messages.index("code changed: restarting the engine")
    lifecycle = [m for m in messages[restart:] if m.startswith(("engine stop", "engine ready"))]
    assert lifecycle[:3] == [
        "engine stopping: no new messages, finishing those in hand",
        "engine stopped",
        "engine ready",
    ], messages
