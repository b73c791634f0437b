"""Every rendered object is valid for the API server, offline.

Kubernetes objects: the JSON schemas that the PyPI package kubernetes-validate ships (strict:
unknown fields are errors), for the oldest Kubernetes the chart supports (Chart.yaml's
kubeVersion) and the one `make dev` runs (the k3s image pinned in k3d/cluster.yaml).
Istio objects: the CRD schemas of the Istio version `make dev` installs, with their CEL rules
(crd_schemas.py). The PrometheusRule: the CRD of the prometheus-operator version pinned in
scripts/install-tools.sh (read from its Go module).
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from chart_render import (
    ISTIO_VERSION,
    PROMETHEUS_OPERATOR_VERSION,
    REPO,
    SCENARIOS,
    k8s_versions,
    render,
)
from crd_schemas import CrdValidator


@functools.cache
def istio() -> CrdValidator:
    crds = Path(
        os.environ.get("ISTIO_CRDS") or REPO / ".tools" / "istio" / f"crds-{ISTIO_VERSION}.yaml"
    )
    if not crds.exists():
        pytest.fail(f"Istio CRDs not found at {crds}: run `make tools` (scripts/install-tools.sh)")
    return CrdValidator(crds)


@functools.cache
def prometheus_operator() -> CrdValidator:
    crd = Path(
        os.environ.get("PROMETHEUS_RULE_CRD")
        or REPO
        / ".tools"
        / "prometheus-operator"
        / f"prometheusrules-{PROMETHEUS_OPERATOR_VERSION}.yaml"
    )
    if not crd.exists():
        pytest.fail(f"PrometheusRule CRD not found at {crd}: run `make tools`")
    return CrdValidator(crd)


def k8s_errors(obj: dict[str, Any], version: str) -> list[str]:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"no schema: {error.message}"]
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(p) for p in error.path)
        return [f"{path}: {error.message}"]
    return []


def errors_of(obj: dict[str, Any], version: str) -> list[str]:
    if obj["apiVersion"].split("/")[0].endswith("istio.io"):
        if not istio().knows(obj):
            return [f"no CRD schema for {obj['apiVersion']} {obj['kind']}"]
        return istio().errors(obj)
    if obj["apiVersion"].split("/")[0] == "monitoring.coreos.com":
        if not prometheus_operator().knows(obj):
            return [f"no CRD schema for {obj['apiVersion']} {obj['kind']}"]
        return prometheus_operator().errors(obj)
    return k8s_errors(obj, version)


@pytest.mark.parametrize("kube_version", k8s_versions())
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_object_is_valid(name: str, kube_version: str) -> None:
    problems = []
    for obj in render(*SCENARIOS[name]):
        for problem in errors_of(obj, kube_version):
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: {problem}")
    assert not problems, "\n".join(problems)


def test_istio_objects_are_checked() -> None:
    kinds = {o["kind"] for o in render(*SCENARIOS["everything"]) if istio().knows(o)}
    assert kinds == {
        "Gateway",
        "VirtualService",
        "DestinationRule",
        "PeerAuthentication",
        "AuthorizationPolicy",
    }


def test_prometheus_rule_is_checked() -> None:
    kinds = {o["kind"] for o in render(*SCENARIOS["everything"]) if prometheus_operator().knows(o)}
    assert kinds == {"PrometheusRule"}


# The validators are not vacuous: what the API server refuses, they refuse.


def _first(kind: str) -> dict[str, Any]:
    return copy.deepcopy(next(o for o in render(*SCENARIOS["everything"]) if o["kind"] == kind))


def test_k8s_validation_catches_a_misspelt_field() -> None:
    deployment = _first("Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["livenessprobe"] = container.pop("livenessProbe")
    assert k8s_errors(deployment, k8s_versions()[-1])


def test_k8s_validation_catches_a_wrong_type() -> None:
    service = _first("Service")
    service["spec"]["ports"][0]["port"] = "eight thousand"
    assert k8s_errors(service, k8s_versions()[-1])


def test_istio_validation_catches_an_unknown_field() -> None:
    virtual_service = _first("VirtualService")
    virtual_service["spec"]["http"][1]["timeOut"] = "30s"
    assert istio().errors(virtual_service)


def test_istio_validation_runs_cel_rules() -> None:
    """`timeout: 0s` (the old way to say "no timeout") is refused by the v1 CRD's CEL rule."""
    virtual_service = _first("VirtualService")
    virtual_service["spec"]["http"][1]["timeout"] = "0s"
    assert any("1ms" in e for e in istio().errors(virtual_service))
    virtual_service["spec"]["http"][1]["timeout"] = "300s"
    assert not istio().errors(virtual_service)


def test_validation_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """kubernetes-validate reads the schemas it ships; nothing is fetched."""
    import socket

    def refuse(*_: object) -> None:
        raise AssertionError("the schema validation tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for obj in render(*SCENARIOS["local"]):
        for version in k8s_versions():
            assert not errors_of(obj, version)


def test_prometheus_rule_validation_catches_mistakes() -> None:
    rule = _first("PrometheusRule")
    alert = rule["spec"]["groups"][0]["rules"][0]
    alert["for"] = "five minutes"  # not a Prometheus duration
    assert any("for" in e for e in prometheus_operator().errors(rule))
    alert["for"] = "5m"
    alert["severity"] = "critical"  # belongs under labels
    assert any("severity" in e for e in prometheus_operator().errors(rule))
    del alert["severity"]
    assert not prometheus_operator().errors(rule)
