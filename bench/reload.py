"""The inner loop, timed on a running cluster with the dev overlay (`make dev-watch`): seconds
from saving a change to a service's code to that service's pod answering with it, for each
service, and `make dev-image`'s time for one service with warm layers.

    uv run python -m bench.reload                       # the k3d cluster (the Mac's)
    uv run python -m bench.reload --context kind-pantry # the CI cluster
    uv run python -m bench.reload --runs 5 --image api

The change is the one a developer makes: the service's own source file, here the name its
health answer gives (`service="api"` in services/api/pantry_api/app.py), saved on the host; the
pod sees it through the source mount. Each save is put back before the next, and the file is
restored whatever happens. Figures: median, min and max over the runs (bench/spread.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from .spread import line, spread

REPO = Path(__file__).resolve().parent.parent
RELEASE = "pantry-chef"
NAMESPACE = "pantry"


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    health: str
    source: str  # the file that names the service in its health answer


SERVICES = {
    "api": Service("api", 8000, "/api/v1/health", "services/api/pantry_api/app.py"),
    "recipe-engine": Service(
        "recipe-engine", 8002, "/health", "services/recipe-engine/pantry_engine/http.py"
    ),
    "realtime": Service("realtime", 8001, "/health", "services/realtime/pantry_realtime/app.py"),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Forward:
    """`kubectl port-forward` to the service's Deployment (one pod: a reload restarts the process
    in it, not the pod). kubectl ends a forward whose pod port once refused a connection, as the
    engine's does while it restarts: `url` starts it again whenever it has ended."""

    def __init__(self, context: str, service: Service) -> None:
        self.context, self.service = context, service
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def url(self) -> str:
        if self.proc is None or self.proc.poll() is not None:
            self.port = _free_port()
            self.proc = subprocess.Popen(
                ["kubectl", "--context", self.context, "-n", NAMESPACE, "port-forward",
                 f"deployment/{RELEASE}-{self.service.name}", f"{self.port}:{self.service.port}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


@contextlib.contextmanager
def forwarded(context: str, service: Service) -> Iterator[Forward]:
    forward = Forward(context, service)
    try:
        answering(forward, service, service.name, timeout=60)
        yield forward
    finally:
        forward.close()


def answering(forward: Forward, service: Service, name: str, timeout: float = 30) -> float:
    """Poll the health answer every 50 ms until it names `name`; the seconds it took."""
    started = time.monotonic()
    with httpx.Client(timeout=2) as client:
        while time.monotonic() - started < timeout:
            try:
                response = client.get(forward.url() + service.health)
                if response.status_code == 200 and response.json().get("service") == name:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.05)  # noqa: TID251 (a synchronous poller, no event loop)
    raise TimeoutError(f"{service.name} did not answer as {name!r} within {timeout:.0f} s")


@contextlib.contextmanager
def saved(path: Path, old: str, new: str) -> Iterator[None]:
    """The file with `old` replaced by `new`, as an editor saves it; put back on exit."""
    original = path.read_text()
    assert original.count(old) == 1, f"{path}: {old!r} is not there once"
    path.write_text(original.replace(old, new))
    try:
        yield
    finally:
        path.write_text(original)


def time_reload(context: str, service: Service, runs: int) -> list[float]:
    """Seconds from the save to the changed answer, `runs` times (each change put back and
    served again before the next)."""
    seconds = []
    path = REPO / service.source
    with forwarded(context, service) as forward:
        for _ in range(runs):
            name = f"{service.name}-{uuid.uuid4().hex[:6]}"
            with saved(path, f'service="{service.name}"', f'service="{name}"'):
                seconds.append(answering(forward, service, name))
            answering(forward, service, service.name)
    return seconds


def time_dev_image(context: str, service: str) -> float:
    """`scripts/dev.sh image SERVICE` after a dependency file of the service changed (a comment
    at the end of its pyproject.toml: the dependency layer is rebuilt, from warm caches)."""
    env = dict(os.environ, PANTRY_CLUSTER=context.split("-", 1)[0])
    path = REPO / "services" / service / "pyproject.toml"
    text = path.read_text()
    with saved(path, text, f"{text}# bench.reload {uuid.uuid4().hex[:8]}\n"):
        started = time.monotonic()
        subprocess.run(["bash", "scripts/dev.sh", "image", service], cwd=REPO, env=env, check=True)
        return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reload", description=__doc__)
    parser.add_argument("--context", default="k3d-pantry")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--image", default="", help="also time make dev-image for this service")
    args = parser.parse_args(argv)
    report: dict[str, object] = {"context": args.context}
    for service in SERVICES.values():
        seconds = time_reload(args.context, service, args.runs)
        print(line(f"save -> served  {service.name:<14}", seconds, "s"))
        report[service.name] = spread(seconds)
    if args.image:
        image = time_dev_image(args.context, args.image)
        print(f"make dev-image SERVICE={args.image}: {image:.1f} s (build, push, rolled out)")
        report["dev_image_seconds"] = round(image, 1)
    out = REPO / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "reload.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
