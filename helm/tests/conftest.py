"""Fixtures of the chart tests (helpers in chart_render.py)."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import yaml
from chart_render import REPO, SCENARIOS, Obj, render

REGISTRY_BIN = REPO / ".tools" / "bin" / "registry"


@pytest.fixture(scope="session", params=list(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def objects(scenario: str) -> list[Obj]:
    return render(*SCENARIOS[scenario])


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Distribution registry on a free loopback port, its storage in a temporary folder."""
    assert REGISTRY_BIN.exists(), f"no {REGISTRY_BIN}: make tools builds it"
    root = tmp_path_factory.mktemp("registry")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = root / "config.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "version": 0.1,
                "log": {"level": "warn"},
                "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
                "http": {"addr": f"127.0.0.1:{port}"},
            }
        )
    )
    log = (root / "registry.log").open("w")
    process = subprocess.Popen([str(REGISTRY_BIN), "serve", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, "the registry did not answer within 30 s"
            try:  # a pause that also notices the registry exiting
                process.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
            pytest.fail("the registry exited: " + (root / "registry.log").read_text())
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
