"""`python -m pantry_engine`: the recipe engine's consumers."""

from __future__ import annotations

import asyncio
import signal
import sys

from pantry_common import CommonSettings, configure_logging, start_agent

from .app import run
from .settings import EngineSettings


async def _main() -> None:
    common, settings = CommonSettings(), EngineSettings()
    configure_logging("recipe-engine", common.log_level)
    start_agent("recipe-engine", common.environment)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(common, settings, stop)


def main() -> int:
    asyncio.run(_main())
    return 0


if __name__ == "__main__":
    sys.exit(main())
