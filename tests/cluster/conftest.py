"""The cluster tests: what `make cluster-test` proves on the running CI cluster, after
scripts/dev.sh's own steps installed everything on it. Nothing here reads rendered YAML: every
check asks the cluster (kubectl, helm) or talks to the services through the gateway's port,
127.0.0.1:8080 on the host, mapped to the gateway's NodePort (kind/cluster.yaml)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

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
