"""The realtime service's server: uvicorn, with a reload mode for the cluster's dev overlay.

In a module of its own (not `__main__`): the reloader's worker process imports what it runs
(`Server`, `asgi_app`) by their module's name.
"""

from __future__ import annotations

import asyncio
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.supervisors import ChangeReload

from pantry_common import CommonSettings, configure_logging, source_dirs, start_agent

from .app import create_app
from .hub import Hub
from .settings import RealtimeSettings


class Server(uvicorn.Server):
    """uvicorn, telling every client to reconnect as soon as the exit signal arrives."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        hub = getattr(getattr(_served.get("app"), "state", None), "hub", None)
        if isinstance(hub, Hub):
            try:
                asyncio.get_running_loop().call_soon_threadsafe(hub.shutdown)
            except RuntimeError:  # no loop yet: nothing to tell
                pass
        super().handle_exit(sig, frame)


#: The application this process serves (the reloader's worker knows it only by name).
_served: dict[str, Any] = {}


def asgi_app() -> Any:
    """The served application, built from the environment: what the reloader's worker process
    imports (`pantry_realtime.server:asgi_app`), since it cannot be handed an object."""
    common, settings = CommonSettings(), RealtimeSettings()
    configure_logging("realtime", common.log_level)
    start_agent("realtime", common.environment)
    _served["app"] = create_app(common, settings)
    return _served["app"]


def serve(*, reload: bool = False) -> None:
    """Serve until SIGTERM; with `reload`, restart the worker when the code changes."""
    common, settings = CommonSettings(), RealtimeSettings()
    configure_logging("realtime", common.log_level)
    config = uvicorn.Config(
        "pantry_realtime.server:asgi_app" if reload else asgi_app(),
        factory=reload,
        reload=reload,
        reload_dirs=source_dirs("pantry_realtime", "pantry_common") if reload else None,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        ws_ping_interval=settings.heartbeat_seconds,
        ws_ping_timeout=settings.heartbeat_seconds,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) + 1,
        backlog=4096,
    )
    if reload:
        # As uvicorn.run does, with this module's Server in the worker (it tells clients to
        # reconnect before a restart as before a stop).
        sock = config.bind_socket()
        ChangeReload(config, target=Server(config).run, sockets=[sock]).run()
    else:
        Server(config).run()
