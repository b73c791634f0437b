"""`python -m pantry_engine [--reload]`: the recipe engine's consumers.

`--reload` (the cluster's dev overlay, `make dev-watch`) runs the engine in a child process and
restarts it when a file of pantry_engine or pantry_common changes: the child is stopped as on
SIGTERM (it stops taking messages, and acks or requeues what it holds), then started anew.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from pantry_common import CommonSettings, configure_logging, source_dirs

from .app import serve
from .settings import EngineSettings

if TYPE_CHECKING:
    from watchfiles.main import FileChange


def _restarting(changes: set[FileChange]) -> None:
    logging.getLogger("pantry_engine").info(
        "code changed: restarting the engine", extra={"files": sorted(path for _, path in changes)}
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pantry_engine", description=__doc__)
    parser.add_argument(
        "--reload", action="store_true", help="restart when the code changes (development)"
    )
    if not parser.parse_args(argv).reload:
        serve()
        return 0
    import watchfiles

    common, settings = CommonSettings(), EngineSettings()
    configure_logging("recipe-engine", common.log_level)
    # SIGINT is the engine's stop signal as SIGTERM is; it gets its whole grace to finish.
    # The target is pantry_engine.app.serve: the new process imports it by that name.
    watchfiles.run_process(
        *source_dirs("pantry_engine", "pantry_common"),
        target=serve,
        callback=_restarting,
        sigint_timeout=int(settings.shutdown_grace_seconds) + 5,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
