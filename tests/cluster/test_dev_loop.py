"""The inner loop on the CI cluster (`make dev-watch`, docs/local-development.md), after the
other cluster tests (this file switches the release to the dev overlay): the pods run the source
tree the nodes have at /src, a saved .py file is what they answer next with no image and no helm
upgrade, a dependency change rebuilds and rolls one service, and the scale, logs and shell
commands do what they say. How fast is measured by bench/reload.py, never asserted here."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.reload import SERVICES, answering, forwarded, saved

from .conftest import (
    CONTEXT,
    INGRESS,
    NAMESPACE,
    RELEASE,
    REPO,
    deployments,
    history,
    kubectl,
    pods,
    ready,
    rolled_out,
    until,
)

pytestmark = pytest.mark.cluster

ENV = dict(os.environ, PANTRY_CLUSTER="kind")


def dev(*args: str, timeout: float = 900, stdin: str | None = None, **env: str) -> str:
    result = subprocess.run(
        ["bash", "scripts/dev.sh", *args], cwd=REPO, env={**ENV, **env}, input=stdin,
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 0, f"dev.sh {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def _service_pods(service: str) -> list[dict[str, Any]]:
    return pods(
        selector=f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component={service}"
    )


def _running(service: str) -> list[dict[str, Any]]:
    return [p for p in _service_pods(service) if not p["metadata"].get("deletionTimestamp")]


@pytest.fixture(scope="module", autouse=True)
def dev_overlay() -> None:
    """make dev-watch's install, without its foreground watch of the dependency files."""
    out = dev("watch", DEV_WATCH_ONCE="1")
    assert "Pantry Chef is up" in out, out
    until("every Deployment rolled out", rolled_out, timeout=300)


def test_every_service_runs_the_mounted_tree_and_reloads() -> None:
    for deployment in deployments():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["args"][-1] == "--reload", deployment["metadata"]["name"]
        assert {"name": "source", "mountPath": "/src", "readOnly": True} in container[
            "volumeMounts"
        ]
    # The tree in the pods is this checkout (the nodes' /src, through the claim).
    head = (REPO / "pyproject.toml").read_text()
    for service in SERVICES:
        shown = kubectl("-n", NAMESPACE, "exec", f"deployment/{RELEASE}-{service}", "-c", service,
                        "--", "cat", "/src/pyproject.toml")  # fmt: skip
        assert shown == head, service


@pytest.mark.parametrize("service", list(SERVICES))
def test_a_saved_py_file_is_served_with_no_image_and_no_helm(service: str) -> None:
    spec = SERVICES[service]
    revisions = len(history())
    before = {p["metadata"]["name"]: p["status"]["containerStatuses"][0]["restartCount"]
              for p in _running(service)}  # fmt: skip
    image = kubectl("-n", NAMESPACE, "get", f"deployment/{RELEASE}-{service}",
                    "-o", "jsonpath={.spec.template.spec.containers[0].image}")  # fmt: skip
    with forwarded(CONTEXT, spec) as forward:
        name = f"{service}-{uuid.uuid4().hex[:6]}"
        with saved(REPO / spec.source, f'service="{service}"', f'service="{name}"'):
            answering(forward, spec, name, timeout=60)
        answering(forward, spec, service, timeout=60)
    # The same pods, never restarted, the same image, the same helm revision.
    after = {p["metadata"]["name"]: p["status"]["containerStatuses"][0]["restartCount"]
             for p in _running(service)}  # fmt: skip
    assert after == before
    assert kubectl("-n", NAMESPACE, "get", f"deployment/{RELEASE}-{service}",
                   "-o", "jsonpath={.spec.template.spec.containers[0].image}") == image  # fmt: skip
    assert len(history()) == revisions


def test_a_dependency_change_rebuilds_and_rolls_that_service_alone(tmp_path: Path) -> None:
    """make dev-watch's watch sees a pyproject.toml change, says an image is needed, and runs
    make dev-image for that service: a new image, rolled out on its Deployment alone."""
    images = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"]
        for d in deployments()
    }
    log = tmp_path / "watch.log"
    path = REPO / "services" / "realtime" / "pyproject.toml"
    text = path.read_text()
    with log.open("w") as sink:
        watcher = subprocess.Popen(
            ["bash", "scripts/dev.sh", "watch-deps"], cwd=REPO, env=ENV,
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        until("the watch started", lambda: "watching" in log.read_text(), timeout=30)
        with saved(path, text, f"{text}# a dependency change {uuid.uuid4().hex[:6]}\n"):

            def finished() -> str | None:
                text = log.read_text()
                return text if " runs " in text or "FAILED" in text else None

            out = until("the image rebuilt and rolled out", finished, timeout=600, every=2)
    finally:
        watcher.terminate()
        watcher.wait(30)
    assert "services/realtime/pyproject.toml" in out, out
    assert "a new image is needed for: realtime" in out, out
    assert "realtime runs " in out, out
    now = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"]
        for d in deployments()
    }
    changed = {name for name in now if now[name] != images[name]}
    assert changed == {f"{RELEASE}-realtime"}
    assert "-dirty-" in now[f"{RELEASE}-realtime"]
    until("realtime rolled out", rolled_out, timeout=300)
    with httpx.Client(timeout=10) as client:
        assert client.get(f"{INGRESS}/api/v1/health").status_code == 200


def test_dev_scale_spreads_the_engine_over_the_nodes_and_each_replica_takes_messages() -> None:
    out = dev("scale", "engine", "3")
    assert "3 replicas" in out, out

    def three_ready() -> list[dict[str, Any]] | None:
        engines = [p for p in _running("recipe-engine") if ready(p)]
        return engines if len(engines) == 3 else None

    engines = until("three ready engines", three_ready, timeout=300)
    placed = [p["spec"]["nodeName"] for p in engines]
    # Two schedulable nodes (the control plane keeps its taint): 2 + 1.
    assert sorted(placed.count(node) for node in set(placed)) == [1, 2], placed
    for pod in engines:
        assert pod["spec"]["nodeName"] in out  # the command shows where each one runs
    # Searches no one has made: each one is a message on the search queue, shared by the three.
    with httpx.Client(timeout=20) as client:
        for i in range(30):
            word = f"scaled{uuid.uuid4().hex[:8]}"
            response = client.get(f"{INGRESS}/api/v1/recipes/search", params={"q": f"{word} {i}"})
            assert response.status_code == 200
    names = [p["metadata"]["name"] for p in engines]

    def each_handled() -> dict[str, int] | None:
        counts = {
            name: kubectl("-n", NAMESPACE, "logs", name, "-c", "recipe-engine").count(
                '"message handled"'
            )
            for name in names
        }
        return counts if all(counts.values()) else None

    until("each engine replica handled a message", each_handled, timeout=120, every=3)
    dev("scale", "engine", "1")
    until("one engine", lambda: len(_running("recipe-engine")) == 1, timeout=180)


def test_dev_logs_follows_the_service_with_its_pod_named() -> None:
    word = f"logged-{uuid.uuid4().hex[:8]}"  # the request id, on the api's access log line
    with httpx.Client(timeout=10) as client:
        response = client.get(
            f"{INGRESS}/api/v1/recipes/search", params={"q": "dal"}, headers={"X-Request-ID": word}
        )
        assert response.is_success
    try:
        subprocess.run(
            ["bash", "scripts/dev.sh", "logs", "api"], cwd=REPO, env=ENV,
            capture_output=True, text=True, timeout=15,
        )  # fmt: skip
        raise AssertionError("make dev-logs ended by itself: it should follow")
    except subprocess.TimeoutExpired as following:
        out = following.stdout or ""
        out = out if isinstance(out, str) else out.decode()
    pod = _running("api")[0]["metadata"]["name"]
    lines = [line for line in out.splitlines() if word in line]
    assert lines, out[-2000:]
    assert all(line.startswith(f"[pod/{pod}/api]") for line in lines), lines


def test_dev_shell_is_a_shell_in_the_service_as_its_own_user() -> None:
    out = dev("shell", "api", stdin="id -u\ncat /src/pyproject.toml | head -n 1\nexit\n")
    assert "10001" in out
    assert (REPO / "pyproject.toml").read_text().splitlines()[0] in out


def test_the_source_mount_is_checked_before_anything_runs(tmp_path: Path) -> None:
    """From a checkout the nodes do not have, make dev-watch stops at once and says why."""
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(REPO), str(other)], check=True)
    (other / "pyproject.toml").write_text((other / "pyproject.toml").read_text() + "# other\n")
    (other / ".tools").symlink_to(REPO / ".tools")
    result = subprocess.run(
        ["bash", "scripts/dev.sh", "watch"], cwd=other, env=ENV,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "do not have this checkout at /src" in result.stderr
