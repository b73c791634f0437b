"""`python -m pantry_api [serve|migrate|seed]` (serve is the default).

`serve --reload` (the cluster's dev overlay, `make dev-watch`) restarts the server when a file of
pantry_api or pantry_common changes.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import sys
from typing import Any

import uvicorn

from pantry_common import CommonSettings, configure_logging, source_dirs, start_agent, wrap_asgi

from .settings import ApiSettings

log = logging.getLogger("pantry_api")


def asgi_app() -> Any:
    """The served application, built from the environment: what the reloader's worker process
    imports (`pantry_api.__main__:asgi_app`), since it cannot be handed an object."""
    common, settings = CommonSettings(), ApiSettings()
    configure_logging("api", common.log_level)
    start_agent("api", common.environment)
    from .app import create_app

    return wrap_asgi(create_app(common, settings))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pantry_api", description=__doc__)
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate", "seed"])
    parser.add_argument(
        "--reload", action="store_true", help="serve: restart when the code changes (development)"
    )
    args = parser.parse_args(argv)
    common, settings = CommonSettings(), ApiSettings()
    configure_logging("api", common.log_level)
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
    serve = functools.partial(
        uvicorn.run,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=20,
    )
    if args.reload:
        # The reloader's worker builds the app itself; this process only watches and restarts it.
        watched = source_dirs("pantry_api", "pantry_common")
        serve("pantry_api.__main__:asgi_app", factory=True, reload=True, reload_dirs=watched)
    else:
        serve(asgi_app())
    return 0


if __name__ == "__main__":
    sys.exit(main())
