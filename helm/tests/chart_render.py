"""Helpers of the chart tests: render the charts with helm, offline, and pick objects out.

Needs the tools of `make tools` (scripts/install-tools.sh): helm in .tools/bin, Istio's CRDs in
.tools/istio, the PrometheusRule CRD in .tools/prometheus-operator (and promtool in .tools/bin
where Go could build it). `HELM`, `ISTIO_CRDS`, `PROMETHEUS_RULE_CRD` and `PROMTOOL` override
their paths. No cluster, no network.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
HELM_DIR = REPO / "helm"
CHART = HELM_DIR / "pantry-chef"
LIBRARY = HELM_DIR / "pantry-lib"
VALUES = HELM_DIR / "values"
RELEASE = "pantry-chef"
NAMESPACE = "pantry"
TEST_TAG = "0123456789ab"  # what `make dev` passes: a git revision
TEST_PROJECT = "pantry-chef-prod"  # the Google Cloud project of helm/gcp/values-example.yaml
TEST_SQL_INSTANCE = f"{TEST_PROJECT}:europe-west1:pantry-pg"  # and its Cloud SQL instance

Obj = dict[str, Any]

PRODUCTION = (
    "-f",
    str(VALUES / "production.yaml"),
    "--set",
    f"image.tag={TEST_TAG}",
    "--set",
    f"workloadIdentity.projectId={TEST_PROJECT}",
    "--set",
    f"cloudSqlProxy.instanceConnectionName={TEST_SQL_INSTANCE}",
)

#: Every way the chart is rendered in these tests: name -> helm arguments.
SCENARIOS: dict[str, tuple[str, ...]] = {
    "default": (),
    "local": (
        "-f",
        str(VALUES / "local.yaml"),
        "--set",
        f"image.tag={TEST_TAG}",
        "--set",
        "image.registry=pantry-registry.localhost:5000",
    ),
    # The CI cluster's values: local.yaml, ci.yaml over it (scripts/dev.sh, PANTRY_CLUSTER=kind).
    "ci": (
        "-f",
        str(VALUES / "local.yaml"),
        "-f",
        str(VALUES / "ci.yaml"),
        "--set",
        f"image.tag={TEST_TAG}",
        "--set",
        "image.registry=pantry-registry.localhost:5000",
    ),
    # The inner loop's overlay (make dev-watch) on the Mac's values.
    "dev": (
        "-f",
        str(VALUES / "local.yaml"),
        "-f",
        str(VALUES / "dev.yaml"),
        "--set",
        f"image.tag={TEST_TAG}",
        "--set",
        "image.registry=pantry-registry.localhost:5000",
    ),
    # production.yaml leaves the project to the deploy (a required value).
    "production": PRODUCTION,
    # Every switch on, so that every template is rendered and validated at least once.
    "everything": (
        *PRODUCTION,
        "--set",
        "seed.enabled=true,newRelic.enabled=true,prometheusRule.enabled=true",
    ),
}


def _script_variable(path: Path, name: str) -> str:
    match = re.search(rf'^{name}="([^"]+)"', path.read_text(), re.MULTILINE)
    assert match, f'{path.relative_to(REPO)} defines no {name}="..."'
    return match.group(1)


ISTIO_VERSION = _script_variable(REPO / "scripts" / "install-tools.sh", "ISTIO_VERSION")
PROMETHEUS_OPERATOR_VERSION = _script_variable(
    REPO / "scripts" / "install-tools.sh", "PROMETHEUS_OPERATOR_VERSION"
)


def helm_binary() -> str:
    helm = os.environ.get("HELM") or str(REPO / ".tools" / "bin" / "helm")
    if not Path(helm).exists():
        found = shutil.which("helm")
        if not found:
            pytest.fail(f"helm not found at {helm}: run `make tools` (scripts/install-tools.sh)")
        helm = found
    return helm


def run_helm(*args: str) -> str:
    result = subprocess.run(
        [helm_binary(), *args], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    if result.returncode != 0:
        pytest.fail(f"helm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@functools.cache
def _dependencies_built() -> None:
    # file:// dependencies only: no network.
    run_helm("dependency", "build", str(CHART), "--skip-refresh")


def k8s_versions() -> list[str]:
    """The oldest Kubernetes the chart supports and the one `make dev` runs (the k3s pin)."""
    cluster = yaml.safe_load((REPO / "k3d" / "cluster.yaml").read_text())
    match = re.match(r"^rancher/k3s:v(\d+\.\d+\.\d+)-k3s\d+$", cluster["image"])
    assert match, f"k3d/cluster.yaml: unexpected k3s image {cluster['image']!r}"
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    oldest = re.search(r"(\d+\.\d+\.\d+)", chart["kubeVersion"])
    assert oldest
    return [oldest.group(1), match.group(1)]


@functools.cache
def render_text(*args: str, kube_version: str | None = None) -> str:
    _dependencies_built()
    kube = kube_version or k8s_versions()[-1]
    return run_helm(
        "template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--kube-version", kube, *args
    )


def render(*args: str) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(render_text(*args)) if doc]


def render_error(*args: str) -> str:
    """What `helm template` says refusing values that must not render (it fails if they do)."""
    _dependencies_built()
    result = subprocess.run(
        [helm_binary(), "template", RELEASE, str(CHART), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode != 0, f"rendered: {' '.join(args)}"
    return result.stderr


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_specs(objects: list[Obj]) -> Iterator[tuple[str, Obj]]:
    """(label, pod spec) of every Deployment, Job and Pod."""
    for o in objects:
        label = f"{o['kind']}/{o['metadata']['name']}"
        if o["kind"] in ("Deployment", "Job"):
            yield label, o["spec"]["template"]["spec"]
        elif o["kind"] == "Pod":
            yield label, o["spec"]


def containers(objects: list[Obj]) -> Iterator[tuple[str, Obj]]:
    for label, spec in pod_specs(objects):
        for c in spec.get("initContainers", []) + spec["containers"]:
            yield f"{label}/{c['name']}", c
