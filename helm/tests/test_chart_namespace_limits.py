"""The namespace's ResourceQuota and LimitRange against what the release's pods ask.

The quota must hold the whole release at its largest (every Deployment at the HPA's maxReplicas,
else its replicas) during one rolling update (each Deployment's maxSurge more pods), with the
hook Jobs and the `helm test` pod running, each pod with what Istio injects (the chart sets the
proxy's resources) and the Cloud SQL Auth Proxy. Raising a replica count, a surge or a request
without the quota fails here. And every container must be one the LimitRange admits.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import pytest
from chart_render import SCENARIOS, Obj, of_kind, render

LIMITED = ("--set", "resourceQuota.enabled=true,limitRange.enabled=true")
#: What the quota counts. limits.cpu is not among them: no container has a CPU limit.
KEYS = ("requests.cpu", "requests.memory", "limits.memory")
UNITS: dict[str, Fraction] = {
    "": Fraction(1),
    "m": Fraction(1, 1000),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
}


def quantity(value: object) -> Fraction:
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value))
    assert match and match.group(2) in UNITS, f"not a quantity: {value!r}"
    return Fraction(match.group(1)) * UNITS[match.group(2)]


def container_resources(container: Obj, limit_range: Obj) -> dict[str, Fraction]:
    """What a container counts for, after the LimitRange's defaults (Kubernetes' rules: a
    missing request is the limit if there is one, else the default request)."""
    resources = container.get("resources", {})
    requests, limits = resources.get("requests", {}), resources.get("limits", {})
    memory_limit = limits.get("memory", limit_range["default"]["memory"])
    return {
        "requests.cpu": quantity(
            requests.get("cpu", limits.get("cpu", limit_range["defaultRequest"]["cpu"]))
        ),
        "requests.memory": quantity(requests.get("memory", limits.get("memory", memory_limit))),
        "limits.memory": quantity(memory_limit),
    }


def istio_proxy(template: Obj) -> Obj | None:
    """The container Istio injects, as the pod's annotations size it (None: not meshed)."""
    labels = template["metadata"].get("labels", {})
    if labels.get("sidecar.istio.io/inject") != "true":
        return None
    annotations = template["metadata"].get("annotations", {})
    for key in ("proxyCPU", "proxyMemory", "proxyMemoryLimit"):
        assert f"sidecar.istio.io/{key}" in annotations, f"a meshed pod without {key}"
    return {
        "name": "istio-proxy",
        "resources": {
            "requests": {
                "cpu": annotations["sidecar.istio.io/proxyCPU"],
                "memory": annotations["sidecar.istio.io/proxyMemory"],
            },
            "limits": {"memory": annotations["sidecar.istio.io/proxyMemoryLimit"]},
        },
    }


def pod_containers(template: Obj) -> tuple[list[Obj], list[Obj]]:
    """(what runs side by side: the containers, native sidecars and Istio's proxy; the init
    containers that run one at a time before them)."""
    spec = template["spec"]
    inits = spec.get("initContainers", [])
    running = spec["containers"] + [c for c in inits if c.get("restartPolicy") == "Always"]
    proxy = istio_proxy(template)
    if proxy:
        running.append(proxy)
    return running, [c for c in inits if c.get("restartPolicy") != "Always"]


def pod_resources(template: Obj, limit_range: Obj) -> dict[str, Fraction]:
    """A pod's effective requests and limits: its running containers added up, or its largest
    init container if that is more (init containers run before the others, one at a time)."""
    running, inits = pod_containers(template)
    total = {key: Fraction(0) for key in KEYS}
    for container in running:
        for key, value in container_resources(container, limit_range).items():
            total[key] += value
    for container in inits:
        for key, value in container_resources(container, limit_range).items():
            total[key] = max(total[key], value)
    return total


def templates_at_their_most(objects: list[Obj]) -> list[tuple[str, int, Obj]]:
    """(name, how many pods at once, pod template) of every pod the release can run at once."""
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]["maxReplicas"]
        for h in of_kind(objects, "HorizontalPodAutoscaler")
    }
    pods: list[tuple[str, int, Obj]] = []
    for deployment in of_kind(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        replicas = hpas.get(name, deployment["spec"].get("replicas", 1))
        surge = deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        if isinstance(surge, str):  # a percentage of the replicas, rounded up
            surge = math.ceil(replicas * int(surge.rstrip("%")) / 100)
        pods.append((f"Deployment/{name}", replicas + surge, deployment["spec"]["template"]))
    for job in of_kind(objects, "Job"):
        parallelism = job["spec"].get("parallelism", 1)
        pods.append((f"Job/{job['metadata']['name']}", parallelism, job["spec"]["template"]))
    for pod in of_kind(objects, "Pod"):
        pods.append((f"Pod/{pod['metadata']['name']}", 1, pod))
    return pods


def limits_of(objects: list[Obj]) -> tuple[dict[str, Fraction], Obj]:
    (quota,) = of_kind(objects, "ResourceQuota")
    (limit_range,) = of_kind(objects, "LimitRange")
    (limits,) = limit_range["spec"]["limits"]
    assert limits["type"] == "Container"
    hard = {key: quantity(value) for key, value in quota["spec"]["hard"].items()}
    return hard, limits


def release_at_its_most(objects: list[Obj], limit_range: Obj) -> dict[str, Fraction]:
    total = {key: Fraction(0) for key in ("pods", *KEYS)}
    for _, count, template in templates_at_their_most(objects):
        total["pods"] += count
        for key, value in pod_resources(template, limit_range).items():
            total[key] += count * value
    return total


@pytest.mark.parametrize("scenario", ["default", "local", "production"])
def test_the_quota_holds_the_release_during_a_rolling_update(scenario: str) -> None:
    objects = render(*SCENARIOS[scenario], *LIMITED)
    hard, limit_range = limits_of(objects)
    assert set(hard) == {"pods", *KEYS}, "limits.cpu would refuse the CPU-limitless containers"
    needed = release_at_its_most(objects, limit_range)
    over = {key: (str(needed[key]), str(hard[key])) for key in needed if needed[key] > hard[key]}
    assert not over, f"{scenario}: the release at its most needs more than the quota: {over}"


@pytest.mark.parametrize(
    ("scenario", "more"),
    [
        ("default", "api.replicaCount=4"),
        ("local", "recipeEngine.resources.requests.cpu=500m"),
        ("production", "realtime.autoscaling.maxReplicas=24"),
    ],
)
def test_a_larger_release_outgrows_the_quota(scenario: str, more: str) -> None:
    """The sizes leave room for the release as it is, not for twice its replicas or requests."""
    objects = render(*SCENARIOS[scenario], *LIMITED, "--set", more)
    hard, limit_range = limits_of(objects)
    needed = release_at_its_most(objects, limit_range)
    assert any(needed[key] > hard[key] for key in needed), f"{more} still fits"


@pytest.mark.parametrize("scenario", ["default", "local", "production"])
def test_the_limit_range_admits_every_container(scenario: str) -> None:
    objects = render(*SCENARIOS[scenario], *LIMITED)
    _, limit_range = limits_of(objects)
    # No CPU default or maximum: either would give the containers CPU limits.
    assert set(limit_range["default"]) == {"memory"}
    assert set(limit_range["max"]) == {"memory"}
    biggest = quantity(limit_range["max"]["memory"])
    assert quantity(limit_range["defaultRequest"]["memory"]) <= quantity(
        limit_range["default"]["memory"]
    )
    assert quantity(limit_range["default"]["memory"]) <= biggest
    for name, _, template in templates_at_their_most(objects):
        running, inits = pod_containers(template)
        for container in running + inits:
            where = f"{name}/{container['name']}"
            resources = container["resources"]
            # Each container says what it needs: the LimitRange's defaults are for others.
            assert {"cpu", "memory"} <= set(resources["requests"]), where
            assert "memory" in resources["limits"], where
            assert "cpu" not in resources["limits"], f"{where}: no CPU limits (docs/security.md)"
            limit = quantity(resources["limits"]["memory"])
            assert quantity(resources["requests"]["memory"]) <= limit <= biggest, where


def test_off_by_default_and_on_in_production() -> None:
    for scenario in ("default", "local"):
        objects = render(*SCENARIOS[scenario])
        assert not of_kind(objects, "ResourceQuota") and not of_kind(objects, "LimitRange")
    production = render(*SCENARIOS["production"])
    assert len(of_kind(production, "ResourceQuota")) == len(of_kind(production, "LimitRange")) == 1


def test_every_service_account_keeps_its_token_out(objects: list[Obj]) -> None:
    """Every ServiceAccount of the release (the migrations' hook account among them), in every
    scenario: no API token is mounted unless a pod asks, and none does."""
    accounts = of_kind(objects, "ServiceAccount")
    assert accounts
    for account in accounts:
        assert account["automountServiceAccountToken"] is False, account["metadata"]["name"]
