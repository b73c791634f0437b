"""`python -m pantry_realtime`: the SSE and WebSocket fan-out."""

from __future__ import annotations

import asyncio
import sys
from types import FrameType

import uvicorn

from pantry_common import CommonSettings, configure_logging, start_agent

from .app import create_app
from .hub import Hub
from .settings import RealtimeSettings


class Server(uvicorn.Server):
    """uvicorn, telling every client to reconnect as soon as the exit signal arrives."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        hub = getattr(getattr(self.config.app, "state", None), "hub", None)
        if isinstance(hub, Hub):
            try:
                asyncio.get_running_loop().call_soon_threadsafe(hub.shutdown)
            except RuntimeError:  # no loop yet: nothing to tell
                pass
        super().handle_exit(sig, frame)


def main() -> int:
    common, settings = CommonSettings(), RealtimeSettings()
    configure_logging("realtime", common.log_level)
    start_agent("realtime", common.environment)
    config = uvicorn.Config(
        create_app(common, settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        ws_ping_interval=settings.heartbeat_seconds,
        ws_ping_timeout=settings.heartbeat_seconds,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) + 1,
        backlog=4096,
    )
    Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
