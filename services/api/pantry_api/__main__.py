"""`python -m pantry_api [serve|migrate|seed]` (serve is the default)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import uvicorn

from pantry_common import CommonSettings, configure_logging, start_agent, wrap_asgi

from .settings import ApiSettings

log = logging.getLogger("pantry_api")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pantry_api", description=__doc__)
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate", "seed"])
    args = parser.parse_args(argv)
    common, settings = CommonSettings(), ApiSettings()
    configure_logging("api", common.log_level)
    if args.command == "serve":
        start_agent("api", common.environment)
    if args.command == "migrate":
        from pantry_common import migrate

        migrate(str(common.database_url), wait_seconds=settings.startup_wait_seconds)
        log.info("migrations applied")
        return 0
    if args.command == "seed":
        from .seed import seed

        result = asyncio.run(seed(common))
        log.info("catalogue seeded", extra=result)
        return 0
    from .app import create_app

    uvicorn.run(
        wrap_asgi(create_app(common, settings)),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=20,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
