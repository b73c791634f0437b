"""`python -m pantry_realtime [--reload]`: the SSE and WebSocket fan-out.

`--reload` (the cluster's dev overlay, `make dev-watch`) restarts the server when a file of
pantry_realtime or pantry_common changes.
"""

from __future__ import annotations

import argparse
import sys

from .server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pantry_realtime", description=__doc__)
    parser.add_argument(
        "--reload", action="store_true", help="restart when the code changes (development)"
    )
    serve(reload=parser.parse_args(argv).reload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
