"""Hooks (migrations, seed, `helm test`) and the switches: HPA, PDB, NetworkPolicy, Istio."""

from __future__ import annotations

import json

import pytest
from chart_render import RELEASE, SCENARIOS, Obj, of_kind, one, render

MIGRATE = f"{RELEASE}-migrations-migrate"
SEED = f"{RELEASE}-migrations-seed"


def hook_notes(obj: Obj) -> dict[str, str]:
    return dict(obj["metadata"].get("annotations") or {})


def test_migration_job_hook(objects: list[Obj]) -> None:
    job = one(objects, "Job", MIGRATE)
    notes = hook_notes(job)
    # The infrastructure is its own release (or a managed database): it exists before the
    # first install, so migrating before install and upgrade is right (see migrations.yaml).
    assert notes["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert notes["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    pod = job["spec"]["template"]
    assert pod["metadata"]["annotations"]["sidecar.istio.io/inject"] == "false"
    assert pod["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] >= 1
    assert job["spec"]["activeDeadlineSeconds"] > 0
    (container,) = pod["spec"]["containers"]
    assert container["command"] == ["python", "-m", "pantry_api", "migrate"]
    # A hook runs before the release's ConfigMaps exist: the environment is inline.
    assert "envFrom" not in container
    names = {e["name"] for e in container["env"]}
    assert {"PANTRY_DATABASE_URL", "PANTRY_ENVIRONMENT"} <= names
    # Its ServiceAccount is a hook too, created before it.
    account = one(objects, "ServiceAccount", pod["spec"]["serviceAccountName"])
    assert hook_notes(account)["helm.sh/hook"] == notes["helm.sh/hook"]
    assert int(hook_notes(account)["helm.sh/hook-weight"]) < int(notes["helm.sh/hook-weight"])


def test_seed_job_only_when_asked_and_after_the_migrations() -> None:
    assert not [
        j for j in of_kind(render(*SCENARIOS["default"]), "Job") if j["metadata"]["name"] == SEED
    ]
    objects = render(*SCENARIOS["local"])
    seed, migrate = one(objects, "Job", SEED), one(objects, "Job", MIGRATE)
    assert int(hook_notes(seed)["helm.sh/hook-weight"]) > int(
        hook_notes(migrate)["helm.sh/hook-weight"]
    )
    assert hook_notes(seed)["helm.sh/hook"] == hook_notes(migrate)["helm.sh/hook"]
    assert hook_notes(seed)["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    pod = seed["spec"]["template"]
    assert pod["metadata"]["annotations"]["sidecar.istio.io/inject"] == "false"
    assert pod["spec"]["containers"][0]["command"] == ["python", "-m", "pantry_api", "seed"]


def test_migrations_can_be_switched_off() -> None:
    objects = render("--set", "migrations.enabled=false")
    assert not of_kind(objects, "Job")


def test_helm_test_pod_calls_every_health_endpoint(objects: list[Obj]) -> None:
    (pod,) = of_kind(objects, "Pod")
    assert hook_notes(pod)["helm.sh/hook"] == "test"
    (container,) = pod["spec"]["containers"]
    urls = [a for a in container["command"] if a.startswith("http://")]
    expected = {
        f"http://{RELEASE}-api.pantry.svc.cluster.local:8000/api/v1/health",
        f"http://{RELEASE}-api.pantry.svc.cluster.local:8000/api/v1/ready",
        f"http://{RELEASE}-recipe-engine.pantry.svc.cluster.local:8002/health",
        f"http://{RELEASE}-recipe-engine.pantry.svc.cluster.local:8002/ready",
        f"http://{RELEASE}-realtime.pantry.svc.cluster.local:8001/health",
        f"http://{RELEASE}-realtime.pantry.svc.cluster.local:8001/ready",
    }
    assert set(urls) == expected


def test_helm_test_pod_joins_the_mesh_only_with_istio() -> None:
    meshed = of_kind(render(*SCENARIOS["local"]), "Pod")[0]
    assert meshed["metadata"]["labels"]["sidecar.istio.io/inject"] == "true"
    assert "holdApplicationUntilProxyStarts" in hook_notes(meshed)["proxy.istio.io/config"]
    assert "quitquitquit" in meshed["spec"]["containers"][0]["command"][2]
    plain = of_kind(render(*SCENARIOS["default"]), "Pod")[0]
    assert plain["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"


@pytest.mark.parametrize(
    ("settings", "hpas", "pdbs"),
    [
        ((), 0, 0),
        (("--set", "autoscaling.enabled=true"), 3, 0),
        (("--set", "podDisruptionBudgets.enabled=true"), 0, 3),
        (("--set", "autoscaling.enabled=true,realtime.autoscaling.enabled=false"), 2, 0),
    ],
)
def test_hpa_and_pdb_behind_flags(settings: tuple[str, ...], hpas: int, pdbs: int) -> None:
    objects = render(*settings)
    assert len(of_kind(objects, "HorizontalPodAutoscaler")) == hpas
    assert len(of_kind(objects, "PodDisruptionBudget")) == pdbs
    scaled = {
        h["spec"]["scaleTargetRef"]["name"] for h in of_kind(objects, "HorizontalPodAutoscaler")
    }
    for deployment in of_kind(objects, "Deployment"):
        # Under an HPA the Deployment leaves the replica count alone.
        assert ("replicas" in deployment["spec"]) == (deployment["metadata"]["name"] not in scaled)


def test_pdb_never_blocks_a_drain_by_default() -> None:
    objects = render("--set", "podDisruptionBudgets.enabled=true")
    for pdb in of_kind(objects, "PodDisruptionBudget"):
        assert pdb["spec"] == {
            "maxUnavailable": 1,
            "selector": pdb["spec"]["selector"],
        }
        component = pdb["metadata"]["labels"]["app.kubernetes.io/component"]
        assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == component


def test_network_policies() -> None:
    objects = render(*SCENARIOS["default"])
    policies = {p["metadata"]["name"]: p for p in of_kind(objects, "NetworkPolicy")}
    assert set(policies) == {
        f"{RELEASE}-api",
        f"{RELEASE}-recipe-engine",
        f"{RELEASE}-realtime",
        f"{RELEASE}-no-ingress",
    }
    # Every pod of the release is isolated for ingress: what no service's policy opens (the
    # hook Jobs, the `helm test` pod) takes no connection at all.
    closed = policies.pop(f"{RELEASE}-no-ingress")
    assert closed["spec"] == {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "pantry-chef",
                "app.kubernetes.io/instance": RELEASE,
            }
        },
        "policyTypes": ["Ingress"],
    }
    selector = closed["spec"]["podSelector"]["matchLabels"]
    for o in objects:
        if o["kind"] in ("Deployment", "Job"):
            labels = o["spec"]["template"]["metadata"]["labels"]
        elif o["kind"] == "Pod":
            labels = o["metadata"]["labels"]
        else:
            continue
        assert selector.items() <= labels.items(), f"{o['kind']}/{o['metadata']['name']}"
    for name, policy in policies.items():
        ingress = policy["spec"]["ingress"]
        from_gateway = [
            rule for rule in ingress if any("namespaceSelector" in peer for peer in rule["from"])
        ]
        if name.endswith("recipe-engine"):
            assert not from_gateway, "the engine is never reached from outside"
        else:
            (rule,) = from_gateway
            (peer,) = rule["from"]
            labels = peer["namespaceSelector"]["matchLabels"]
            assert labels == {"kubernetes.io/metadata.name": "istio-ingress"}
            assert peer["podSelector"]["matchLabels"] == {"istio": "ingress"}
    assert not of_kind(render("--set", "networkPolicies.create=false"), "NetworkPolicy")


def test_istio_objects_behind_the_flag() -> None:
    off = render(*SCENARIOS["default"])
    assert not [o for o in off if o["apiVersion"].split("/")[0].endswith("istio.io")]
    on = render(*SCENARIOS["local"])
    assert {o["kind"] for o in on if o["apiVersion"].split("/")[0].endswith("istio.io")} == {
        "Gateway",
        "VirtualService",
        "DestinationRule",
        "PeerAuthentication",
        "AuthorizationPolicy",
    }


def test_hook_jobs_never_run_the_new_relic_agent() -> None:
    """A migration is no APM application: the Jobs get none of the agent's settings."""
    for job in of_kind(render(*SCENARIOS["everything"]), "Job"):
        container = job["spec"]["template"]["spec"]["containers"][0]
        names = [e["name"] for e in container["env"]]
        assert not [n for n in names if n.startswith("NEW_RELIC")], job["metadata"]["name"]


def test_meshed_pods_wait_for_their_proxy_and_keep_it_while_draining() -> None:
    for deployment in of_kind(render(*SCENARIOS["local"]), "Deployment"):
        template = deployment["spec"]["template"]
        assert template["metadata"]["labels"]["sidecar.istio.io/inject"] == "true"
        config = json.loads(template["metadata"]["annotations"]["proxy.istio.io/config"])
        assert config["holdApplicationUntilProxyStarts"] is True
        grace = template["spec"]["terminationGracePeriodSeconds"]
        drain = int(config["terminationDrainDuration"].removesuffix("s"))
        assert 0 < drain < grace
    for deployment in of_kind(render(*SCENARIOS["default"]), "Deployment"):
        template = deployment["spec"]["template"]
        assert "sidecar.istio.io/inject" not in template["metadata"]["labels"]
        assert "proxy.istio.io/config" not in template["metadata"]["annotations"]
