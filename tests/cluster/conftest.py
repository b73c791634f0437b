"""The cluster tests: what `make cluster-test` proves on the running CI cluster, after
scripts/dev.sh's own steps installed everything on it. Nothing here reads rendered YAML: every
check asks the cluster (kubectl, helm) or talks to the services through the gateway's port,
127.0.0.1:8080 on the host, mapped to the gateway's NodePort (kind/cluster.yaml)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
CONTEXT = os.environ.get("PANTRY_CLUSTER_CONTEXT", "kind-pantry")
NAMESPACE = "pantry"
INFRA_NAMESPACE = "pantry-infra"
RELEASE = "pantry-chef"
INGRESS = os.environ.get("PANTRY_INGRESS_URL", "http://127.0.0.1:8080")
HELM = str(REPO / ".tools" / "bin" / "helm")
SEARCH = f"{INGRESS}/api/v1/recipes/search"

T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cluster: needs the CI cluster (make cluster-test)")


def run(*command: str, stdin: str | None = None, check: bool = True) -> str:
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def kubectl(*args: str, stdin: str | None = None, check: bool = True) -> str:
    return run("kubectl", "--context", CONTEXT, *args, stdin=stdin, check=check)


def kubectl_json(*args: str) -> Any:
    return json.loads(kubectl(*args, "-o", "json"))


def helm(*args: str, check: bool = True) -> str:
    return run(HELM, "--kube-context", CONTEXT, *args, check=check)


def history() -> list[dict[str, Any]]:
    revisions: list[dict[str, Any]] = json.loads(
        helm("history", RELEASE, "-n", NAMESPACE, "-o", "json")
    )
    return revisions


def until(what: str, probe: Callable[[], T | None], timeout: float = 120, every: float = 1) -> T:
    """Polls `probe` until it returns something other than None (or False)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r})")


def deployments() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kubectl_json(
        "-n", NAMESPACE, "get", "deployments", "-l", f"app.kubernetes.io/instance={RELEASE}"
    )["items"]
    return items


def pods(namespace: str = NAMESPACE, selector: str = "") -> list[dict[str, Any]]:
    args = ["-n", namespace, "get", "pods"]
    if selector:
        args += ["-l", selector]
    items: list[dict[str, Any]] = kubectl_json(*args)["items"]
    return items


def ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return pod["status"].get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in conditions
    )


def rolled_out() -> bool:
    """Every Deployment of the release has all its replicas updated, ready and no old ones."""
    for deployment in deployments():
        status = deployment["status"]
        want = deployment["spec"]["replicas"]
        if (
            status.get("observedGeneration") != deployment["metadata"]["generation"]
            or status.get("updatedReplicas") != want
            or status.get("readyReplicas") != want
            or status.get("replicas") != want
        ):
            return False
    return True


def nodes() -> list[str]:
    return run("kind", "get", "nodes", "--name", CONTEXT.removeprefix("kind-")).split()


def service_programmed(namespace: str, name: str) -> bool:
    """Whether kube-proxy on every node routes the Service's cluster IP. Until then a
    connection to it leaves the node unrouted, so tests wait for this before they call it."""
    comment = f'"{namespace}/{name} cluster IP"'
    return all(
        comment in run("docker", "exec", node, "iptables-save", "-t", "nat") for node in nodes()
    )


def sse_events(search_id: str, until_type: str, timeout: float = 90) -> list[dict[str, Any]]:
    """The events of a search's stream through the gateway, up to the first of `until_type`."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with (
        httpx.Client(timeout=httpx.Timeout(timeout, read=timeout)) as client,
        client.stream(
            "GET",
            f"{INGRESS}/events",
            params={"search_id": search_id},
            headers={"Accept": "text/event-stream"},
        ) as stream,
    ):
        assert stream.status_code == 200, stream.read()
        assert stream.headers["content-type"].startswith("text/event-stream")
        deadline = time.monotonic() + timeout
        for line in stream.iter_lines():
            if time.monotonic() > deadline:
                break
            if not line:
                if "event" in current:
                    events.append(current)
                    if current["event"] == until_type:
                        return events
                current = {}
            elif line.startswith("event:"):
                current["event"] = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                current["data"] = json.loads(line.split(":", 1)[1])
    raise AssertionError(f"no {until_type} event within {timeout} s: {events}")


class SearchLoop:
    """Searches through the gateway as fast as one client can, counting every failure, and
    keeping each answer's time and `X-Cache` (the fault tests read what a user saw when)."""

    QUERIES = ("chicken curry", "lentil soup", "pancakes", "tomato", "rice", "garlic bread")

    def __init__(self) -> None:
        self.ok = 0
        self.failures: list[str] = []
        self.answers: list[tuple[float, str]] = []  # (time.monotonic(), X-Cache) of each 200
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            n = 0
            while not self._stop.is_set():
                n += 1
                query = self.QUERIES[n % len(self.QUERIES)]
                try:
                    answer = client.get(SEARCH, params={"q": query})
                    if answer.status_code == 200 and "results" in answer.json():
                        self.ok += 1
                        self.answers.append((time.monotonic(), answer.headers["x-cache"]))
                    else:
                        self.failures.append(
                            f"{query}: HTTP {answer.status_code} {answer.text[:200]}"
                        )
                except (httpx.HTTPError, ValueError) as error:
                    self.failures.append(f"{query}: {type(error).__name__} {error}")
                time.sleep(0.02)

    def caches(self, since: float, until: float = float("inf")) -> list[str]:
        """The `X-Cache` of the answers between two times, in order."""
        return [cache for at, cache in list(self.answers) if since <= at < until]

    def __enter__(self) -> SearchLoop:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
