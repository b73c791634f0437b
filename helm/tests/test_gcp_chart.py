"""helm/gcp, the project's Google Cloud resources as Config Connector objects, offline.

Every object it renders with helm/gcp/values-example.yaml is checked against the CRD of its kind
from the Config Connector release pinned in scripts/install-tools.sh (their openAPIV3Schema,
strict: an unknown field is an error, as crd_schemas.py does it for Istio), and the facts a
reviewer of the IAM would look for are asserted: Workload Identity bindings into the namespace
`pantry` only, Cloud SQL roles for the services that use the database and for no other, no
service account keys, no secret value in the values.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import REPO, SCENARIOS, _script_variable, helm_binary, render, run_helm
from crd_schemas import CrdValidator

GCP_CHART = REPO / "helm" / "gcp"
EXAMPLE = GCP_CHART / "values-example.yaml"
INSTALL_TOOLS = REPO / "scripts" / "install-tools.sh"
CONFIG_CONNECTOR_VERSION = _script_variable(INSTALL_TOOLS, "CONFIG_CONNECTOR_VERSION")
PROJECT = yaml.safe_load(EXAMPLE.read_text())["projectId"]
APP_NAMESPACE = "pantry"

Obj = dict[str, Any]


def pinned_crds() -> dict[str, str]:
    """file -> SHA-256, as scripts/install-tools.sh pins them."""
    block = re.search(r'^CONFIG_CONNECTOR_CRDS="\n(.*?)^"', INSTALL_TOOLS.read_text(), re.M | re.S)
    assert block, "scripts/install-tools.sh defines no CONFIG_CONNECTOR_CRDS"
    pins = {}
    for line in block.group(1).splitlines():
        sha, name = line.split()
        pins[name] = sha
    return pins


def crd_dir() -> Path:
    return Path(
        os.environ.get("CONFIG_CONNECTOR_CRDS")
        or REPO / ".tools" / "config-connector" / CONFIG_CONNECTOR_VERSION
    )


@functools.cache
def config_connector() -> CrdValidator:
    files = [crd_dir() / name for name in sorted(pinned_crds())]
    missing = [f.name for f in files if not f.exists()]
    if missing:
        pytest.fail(f"Config Connector CRDs missing in {crd_dir()}: {missing}: run `make tools`")
    return CrdValidator(*files)


def render_gcp(*args: str) -> list[Obj]:
    text = run_helm("template", "pantry-gcp", str(GCP_CHART), "-n", "pantry-gcp", *args)
    return [doc for doc in yaml.safe_load_all(text) if doc]


@functools.cache
def _example() -> tuple[Obj, ...]:
    return tuple(render_gcp("-f", str(EXAMPLE)))


def example() -> list[Obj]:
    return copy.deepcopy(list(_example()))


def of_kind(kind: str) -> list[Obj]:
    return [o for o in example() if o["kind"] == kind]


def named(kind: str, name: str) -> Obj:
    found = [o for o in of_kind(kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


# --- the schemas --------------------------------------------------------------------------------


def test_crds_are_the_pinned_release() -> None:
    for name, sha in pinned_crds().items():
        got = hashlib.sha256((crd_dir() / name).read_bytes()).hexdigest()
        assert got == sha, f"{name}: SHA-256 {got}, pinned {sha}"


def test_chart_lints() -> None:
    run_helm("lint", "--strict", str(GCP_CHART), "-f", str(EXAMPLE))


def test_every_object_is_valid_for_its_crd() -> None:
    problems = []
    for obj in example():
        label = f"{obj['kind']}/{obj['metadata']['name']}"
        if not config_connector().knows(obj):
            problems.append(f"{label}: no CRD for {obj['apiVersion']} {obj['kind']}")
            continue
        problems += [f"{label}: {e}" for e in config_connector().errors(obj)]
    assert not problems, "\n".join(problems)


def test_every_resource_of_the_design_is_there() -> None:
    kinds = {o["kind"] for o in example()}
    assert kinds == {
        "ComputeNetwork",
        "ComputeSubnetwork",
        "ComputeAddress",
        "ServiceNetworkingConnection",
        "ContainerCluster",
        "ContainerNodePool",
        "SQLInstance",
        "SQLDatabase",
        "SQLUser",
        "RedisInstance",
        "ArtifactRegistryRepository",
        "IAMServiceAccount",
        "IAMPolicyMember",
        "SecretManagerSecret",
        "SecretManagerSecretVersion",
    }


def test_every_object_names_its_project() -> None:
    for obj in example():
        assert obj["metadata"]["annotations"]["cnrm.cloud.google.com/project-id"] == PROJECT


def test_validation_catches_a_misspelt_field() -> None:
    instance = named("SQLInstance", "pantry-pg")
    ip = instance["spec"]["settings"]["ipConfiguration"]
    ip["ipv4enabled"] = ip.pop("ipv4Enabled")
    assert any("ipv4enabled" in e for e in config_connector().errors(instance))


def test_validation_catches_a_wrong_type_and_a_missing_field() -> None:
    pool = named("ContainerNodePool", "pantry-pool")
    pool["spec"]["nodeConfig"]["diskSizeGb"] = "fifty"
    del pool["spec"]["clusterRef"]
    errors = config_connector().errors(pool)
    assert any("diskSizeGb" in e for e in errors)
    assert any("clusterRef" in e for e in errors)


def test_an_unknown_kind_is_not_taken_for_valid() -> None:
    key = {
        "apiVersion": "iam.cnrm.cloud.google.com/v1beta1",
        "kind": "IAMServiceAccountKey",
        "metadata": {"name": "k"},
        "spec": {},
    }
    assert not config_connector().knows(key)


# --- required values ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["projectId", "region", "zone"])
def test_a_missing_required_value_fails_with_its_name(value: str) -> None:
    result = subprocess.run(
        [helm_binary(), "template", "x", str(GCP_CHART), "-f", str(EXAMPLE), "--set", f"{value}="],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode != 0, f"rendered without {value}"
    assert f"{value} is required" in result.stderr


# --- the cluster --------------------------------------------------------------------------------


def test_cluster_has_workload_identity_dataplane_v2_and_private_nodes() -> None:
    spec = named("ContainerCluster", "pantry")["spec"]
    assert spec["workloadIdentityConfig"] == {"workloadPool": f"{PROJECT}.svc.id.goog"}
    assert spec["datapathProvider"] == "ADVANCED_DATAPATH"
    assert spec["privateClusterConfig"]["enablePrivateNodes"] is True
    assert spec["networkingMode"] == "VPC_NATIVE"
    # Zonal: the one cluster that the GKE free tier's management fee credit covers.
    assert re.fullmatch(r"[a-z]+-[a-z]+\d+-[a-z]", spec["location"])


def test_nodes_run_as_their_own_account_and_hide_the_node_identity() -> None:
    pool = named("ContainerNodePool", "pantry-pool")["spec"]
    assert pool["clusterRef"] == {"name": "pantry"}
    node = pool["nodeConfig"]
    assert node["serviceAccountRef"] == {"name": "pantry-nodes"}
    assert node["workloadMetadataConfig"]["mode"] == "GKE_METADATA"
    named("IAMServiceAccount", "pantry-nodes")


# --- Cloud SQL, Memorystore, the private network ------------------------------------------------


def test_cloud_sql_is_private_with_iam_authentication() -> None:
    instance = named("SQLInstance", "pantry-pg")["spec"]
    assert instance["databaseVersion"].startswith("POSTGRES_")
    ip = instance["settings"]["ipConfiguration"]
    assert ip["ipv4Enabled"] is False
    assert ip["privateNetworkRef"] == {"name": "pantry"}
    assert {"name": "cloudsql.iam_authentication", "value": "on"} in instance["settings"][
        "databaseFlags"
    ]
    assert "rootPassword" not in instance
    assert named("SQLDatabase", "pantry")["spec"]["instanceRef"] == {"name": "pantry-pg"}


def test_database_users_are_the_iam_accounts_of_api_and_engine_only() -> None:
    users = of_kind("SQLUser")
    assert {u["spec"]["type"] for u in users} == {"CLOUD_IAM_SERVICE_ACCOUNT"}
    assert not [u for u in users if "password" in u["spec"]]
    assert sorted(u["spec"]["resourceID"] for u in users) == [
        f"pantry-api@{PROJECT}.iam",
        f"pantry-engine@{PROJECT}.iam",
    ]


def test_redis_and_cloud_sql_use_the_private_services_range() -> None:
    address = named("ComputeAddress", "pantry-private-services")["spec"]
    assert address["purpose"] == "VPC_PEERING" and address["location"] == "global"
    connection = named("ServiceNetworkingConnection", "pantry-private-services")["spec"]
    assert connection["service"] == "servicenetworking.googleapis.com"
    assert connection["reservedPeeringRanges"] == [{"name": "pantry-private-services"}]
    redis = named("RedisInstance", "pantry-redis")["spec"]
    assert redis["connectMode"] == "PRIVATE_SERVICE_ACCESS"
    assert redis["reservedIpRange"] == "pantry-private-services"
    assert named("SQLInstance", "pantry-pg")["spec"]["settings"]["ipConfiguration"][
        "allocatedIpRange"
    ] == ("pantry-private-services")


def test_stateful_resources_survive_helm_uninstall() -> None:
    for kind in ("SQLInstance", "RedisInstance", "ArtifactRegistryRepository"):
        for obj in of_kind(kind):
            annotations = obj["metadata"]["annotations"]
            assert annotations.get("cnrm.cloud.google.com/deletion-policy") == "abandon", kind


# --- identities and roles -----------------------------------------------------------------------


def member_account(binding: Obj) -> str:
    """The Google service account a project or resource binding grants to."""
    ref = binding["spec"].get("memberFrom", {}).get("serviceAccountRef")
    assert ref, f"{binding['metadata']['name']}: not granted to a service account of the chart"
    return str(ref["name"])


def roles_of() -> dict[str, set[str]]:
    """Google service account -> the roles it holds (not the Workload Identity bindings)."""
    roles: dict[str, set[str]] = {
        o["metadata"]["name"]: set() for o in of_kind("IAMServiceAccount")
    }
    for binding in of_kind("IAMPolicyMember"):
        if binding["spec"]["role"] != "roles/iam.workloadIdentityUser":
            roles[member_account(binding)].add(binding["spec"]["role"])
    return roles


def test_each_service_has_its_own_account() -> None:
    assert {o["metadata"]["name"] for o in of_kind("IAMServiceAccount")} == {
        "pantry-api",
        "pantry-engine",
        "pantry-realtime",
        "pantry-nodes",
    }


def test_least_roles() -> None:
    roles = roles_of()
    sql = {"roles/cloudsql.client", "roles/cloudsql.instanceUser"}
    assert sql <= roles["pantry-api"]
    assert sql <= roles["pantry-engine"]
    assert not [r for r in roles["pantry-realtime"] if r.startswith("roles/cloudsql.")]
    assert roles["pantry-realtime"] == set()
    assert roles["pantry-nodes"] == {
        "roles/container.defaultNodeServiceAccount",
        "roles/artifactregistry.reader",
    }
    broad = {"roles/owner", "roles/editor", "roles/cloudsql.admin", "roles/iam.serviceAccountUser"}
    assert not [r for rs in roles.values() for r in rs if r in broad]


def test_image_reading_is_granted_on_the_repository_not_the_project() -> None:
    (reader,) = [
        b
        for b in of_kind("IAMPolicyMember")
        if b["spec"]["role"] == "roles/artifactregistry.reader"
    ]
    assert reader["spec"]["resourceRef"]["kind"] == "ArtifactRegistryRepository"
    assert reader["spec"]["resourceRef"]["name"] == "pantry"


def test_secrets_are_readable_by_their_accessors_only() -> None:
    readers = [
        b
        for b in of_kind("IAMPolicyMember")
        if b["spec"]["role"] == "roles/secretmanager.secretAccessor"
    ]
    assert {b["spec"]["resourceRef"]["kind"] for b in readers} == {"SecretManagerSecret"}
    assert sorted(member_account(b) for b in readers) == ["pantry-api", "pantry-engine"]


def workload_identity_bindings() -> dict[str, set[str]]:
    """Google service account -> the Kubernetes service accounts (namespace/name) that act as it."""
    found: dict[str, set[str]] = {}
    pattern = re.compile(
        rf"^serviceAccount:{re.escape(PROJECT)}\.svc\.id\.goog\[([^/\]]+)/([^\]]+)\]$"
    )
    for binding in of_kind("IAMPolicyMember"):
        if binding["spec"]["role"] != "roles/iam.workloadIdentityUser":
            continue
        ref = binding["spec"]["resourceRef"]
        assert ref["kind"] == "IAMServiceAccount"
        match = pattern.match(binding["spec"]["member"])
        assert match, f"{binding['metadata']['name']}: member {binding['spec']['member']!r}"
        found.setdefault(ref["name"], set()).add(f"{match.group(1)}/{match.group(2)}")
    return found


def test_every_workload_identity_binding_names_the_namespace_pantry() -> None:
    bindings = workload_identity_bindings()
    assert set(bindings) == {"pantry-api", "pantry-engine", "pantry-realtime"}
    for ksas in bindings.values():
        assert {k.split("/")[0] for k in ksas} == {APP_NAMESPACE}


def test_the_app_charts_service_accounts_are_the_bound_ones() -> None:
    """Each ServiceAccount the production release renders acts as the Google service account
    that helm/gcp binds it to: the two charts agree on the names."""
    bindings = workload_identity_bindings()
    app = render(*SCENARIOS["production"], "--set", f"workloadIdentity.projectId={PROJECT}")
    accounts = [o for o in app if o["kind"] == "ServiceAccount"]
    assert len(accounts) == 4  # api, recipe-engine, realtime, migrations
    for account in accounts:
        email = account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
        gsa, _, domain = email.partition("@")
        assert domain == f"{PROJECT}.iam.gserviceaccount.com"
        assert f"{APP_NAMESPACE}/{account['metadata']['name']}" in bindings[gsa], email


def test_no_keys_and_no_secret_values() -> None:
    text = run_helm("template", "pantry-gcp", str(GCP_CHART), "-f", str(EXAMPLE))
    assert "ServiceAccountKey" not in text
    for version in of_kind("SecretManagerSecretVersion"):
        assert set(version["spec"]["secretData"]) == {"valueFrom"}
        assert set(version["spec"]["secretData"]["valueFrom"]) == {"secretKeyRef"}
    for path in (GCP_CHART / "values.yaml", EXAMPLE):
        values = yaml.safe_load(path.read_text())
        for secret in values["secrets"]:
            assert set(secret) <= {"name", "accessors", "fromSecret"}, path.name


def test_without_a_kubernetes_secret_no_version_is_created(tmp_path: Path) -> None:
    values = tmp_path / "secrets.yaml"
    values.write_text("secrets: [{name: only-a-secret, accessors: [api]}]\n")
    objects = render_gcp("-f", str(EXAMPLE), "-f", str(values))
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "SecretManagerSecret"] == [
        "only-a-secret"
    ]
    assert not [o for o in objects if o["kind"] == "SecretManagerSecretVersion"]


def test_an_accessor_that_is_no_service_fails() -> None:
    result = subprocess.run(
        [
            helm_binary(),
            "template",
            "x",
            str(GCP_CHART),
            "-f",
            str(EXAMPLE),
            "--set",
            "secrets[0].accessors[0]=billing",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode != 0
    assert "billing is not a key of serviceAccounts.services" in result.stderr


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("secrets[0].value=hunter2", "additional properties 'value' not allowed"),
        ("sql.availabilityType=HA", "/sql/availabilityType"),
        ("serviceAccounts.services.realtime.cloudsql=true", "'cloudsql' not allowed"),
        ("zone=europe-west1", "/zone"),
    ],
)
def test_values_schema_refuses(setting: str, complaint: str) -> None:
    """values.schema.json stops a secret value in the values, and typos, before any object."""
    result = subprocess.run(
        [helm_binary(), "template", "x", str(GCP_CHART), "-f", str(EXAMPLE), "--set", setting],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode != 0, f"--set {setting} rendered"
    assert complaint in result.stderr
