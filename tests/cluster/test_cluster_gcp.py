"""helm/gcp on a real API server, with Config Connector's CRDs installed.

helm/tests/test_gcp_chart.py validates the rendered objects against the CRDs' schemas offline;
here the API server does it: the pinned CRDs (scripts/install-tools.sh, `.tools/config-connector`)
are applied server-side, helm/gcp is installed with helm/gcp/values-example.yaml into a namespace
of its own, and every object it renders must be stored, with nothing of its spec pruned. No
Config Connector controller runs here and nothing reaches Google Cloud: the objects are accepted,
never reconciled (no status, no READY condition). An object with a field the schema does not
have, or a value of the wrong type, is refused. The test removes what it added (the release, its
namespace, the CRDs it created), so the cluster is left as it was."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import CONTEXT, REPO, helm, kubectl, kubectl_json, run

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]

GCP_CHART = REPO / "helm" / "gcp"
EXAMPLE = GCP_CHART / "values-example.yaml"
GCP_NAMESPACE = "pantry-gcp-check"
GCP_RELEASE = "pantry-gcp"


def _script_variable(name: str) -> str:
    for line in (REPO / "scripts" / "install-tools.sh").read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1].split("#")[0].strip().strip('"')
    raise AssertionError(f"scripts/install-tools.sh sets no {name}")


def crd_files() -> list[Path]:
    version = _script_variable("CONFIG_CONNECTOR_VERSION")
    files = sorted((REPO / ".tools" / "config-connector" / version).glob("*.yaml"))
    assert files, f"no Config Connector {version} CRDs in .tools/config-connector: make tools"
    return files


def crd_names(files: list[Path]) -> list[str]:
    names = []
    for file in files:
        for document in yaml.safe_load_all(file.read_text()):
            if document and document.get("kind") == "CustomResourceDefinition":
                names.append(document["metadata"]["name"])
    return names


def contains(stored: Any, rendered: Any) -> bool:
    """Whether everything rendered is in what the API server stored (which may add defaults)."""
    if isinstance(rendered, dict):
        return isinstance(stored, dict) and all(
            k in stored and contains(stored[k], v) for k, v in rendered.items()
        )
    if isinstance(rendered, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(rendered)
            and all(contains(s, r) for s, r in zip(stored, rendered, strict=True))
        )
    return bool(stored == rendered)


def resource(obj: dict[str, Any]) -> str:
    """`kind.group` for kubectl, e.g. sqlinstance.sql.cnrm.cloud.google.com."""
    group = obj["apiVersion"].split("/")[0]
    return f"{obj['kind'].lower()}.{group}"


def copy_of(obj: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """A deep copy, renamed when `name` is given (a new object: a create, not an update)."""
    copied: dict[str, Any] = json.loads(json.dumps(obj))
    if name:
        copied["metadata"]["name"] = name
    return copied


def refused(obj: dict[str, Any], *flags: str) -> str:
    """kubectl apply --dry-run=server of an object that must be refused: its error."""
    result = subprocess.run(
        ["kubectl", "--context", CONTEXT, "-n", GCP_NAMESPACE, "apply", "--dry-run=server"]
        + list(flags)
        + ["-f", "-"],
        input=json.dumps(obj),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0, f"accepted: {result.stdout}"
    return result.stderr


def test_helm_gcp_is_accepted_by_the_api_server_with_config_connectors_crds() -> None:
    files = crd_files()
    names = crd_names(files)
    assert len(names) == len(files)
    existing = {
        c["metadata"]["name"]
        for c in kubectl_json("get", "crd")["items"]
        if c["metadata"]["name"].endswith(".cnrm.cloud.google.com")
    }
    # A cluster with Config Connector already installed would lose its objects when the CRDs
    # are deleted at the end: refuse to run there rather than leave it otherwise than found.
    assert not existing & set(names), f"Config Connector's CRDs are installed already: {existing}"
    try:
        # Server-side: the largest CRDs (ContainerCluster) exceed the annotation client-side
        # apply would store.
        args = ["apply", "--server-side", "--field-manager=pantry-cluster-test"]
        for file in files:
            args += ["-f", str(file)]
        kubectl(*args)
        kubectl(
            "wait",
            "--for=condition=Established",
            "--timeout=120s",
            *[f"crd/{name}" for name in names],
        )
        kubectl(
            "apply",
            "-f",
            "-",
            stdin=kubectl("create", "namespace", GCP_NAMESPACE, "--dry-run=client", "-o", "yaml"),
        )
        # The Secret that `fromSecret` names, made by hand as docs/gke.md says (a dummy value:
        # no controller reads it here).
        kubectl(
            "-n",
            GCP_NAMESPACE,
            "create",
            "secret",
            "generic",
            "rabbitmq-password",
            "--from-literal=password=not-a-real-password",
        )
        helm(
            "upgrade",
            "--install",
            GCP_RELEASE,
            str(GCP_CHART),
            "-n",
            GCP_NAMESPACE,
            "-f",
            str(EXAMPLE),
        )
        manifest = helm("get", "manifest", GCP_RELEASE, "-n", GCP_NAMESPACE)
        rendered = [d for d in yaml.safe_load_all(manifest) if d]
        kinds = {d["kind"] for d in rendered}
        # Every kind of the shape in docs/gke.md.
        assert {
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
        } <= kinds
        for obj in rendered:
            name = obj["metadata"]["name"]
            stored = kubectl_json("-n", GCP_NAMESPACE, "get", resource(obj), name)
            where = f"{obj['kind']}/{name}"
            # Nothing pruned: a field the schema lacks would have vanished without a word.
            assert contains(stored.get("spec"), obj.get("spec")), where
            assert contains(stored["metadata"].get("annotations"), obj["metadata"]["annotations"])
            # Accepted, never reconciled: no controller, so no READY condition, no finalizer.
            assert not stored.get("status", {}).get("conditions"), where
            assert not stored["metadata"].get("finalizers"), where
        listed = run(
            "kubectl", "--context", CONTEXT, "-n", GCP_NAMESPACE, "get", "gcp", "-o", "name"
        ).split()
        assert len(listed) == len(rendered), listed

        # The schemas really validate. A value of the wrong type is refused by the structural
        # schema, whatever the client asks:
        (pool,) = [d for d in rendered if d["kind"] == "ContainerNodePool"]
        wrong = copy_of(pool, "refused-pool")
        wrong["spec"]["autoscaling"]["minNodeCount"] = "one"
        error = refused(wrong)
        assert "spec.autoscaling.minNodeCount" in error and "integer" in error, error
        # A field the schema does not have: refused under strict field validation (kubectl's
        # default, `--validate=strict`, which the API server enforces itself)...
        (sql,) = [d for d in rendered if d["kind"] == "SQLInstance"]
        typo = copy_of(sql, "refused-sql")
        typo["spec"]["settings"]["tierr"] = typo["spec"]["settings"]["tier"]
        error = refused(typo, "--validate=strict")
        assert 'unknown field "spec.settings.tierr"' in error, error
        # ...a role that is not a role (the schema's pattern)...
        member = next(d for d in rendered if d["kind"] == "IAMPolicyMember")
        bad = copy_of(member, "refused-member")
        bad["spec"]["role"] = "owner"
        error = refused(bad)
        assert "spec.role" in error and "should match" in error, error
        # ...and, on an object that exists, a change its CEL transition rule forbids (the
        # offline validator skips `oldSelf` rules: only an API server can check them).
        moved = copy_of(member)
        moved["spec"]["role"] = "roles/viewer"
        error = refused(moved)
        assert "role is immutable" in error, error
    finally:
        helm("uninstall", GCP_RELEASE, "-n", GCP_NAMESPACE, "--wait", check=False)
        kubectl("delete", "namespace", GCP_NAMESPACE, "--ignore-not-found", "--wait=true")
        created = [f"crd/{name}" for name in names if name not in existing]
        if created:
            kubectl("delete", "--ignore-not-found", "--wait=true", *created)
    left = {
        c["metadata"]["name"]
        for c in kubectl_json("get", "crd")["items"]
        if c["metadata"]["name"].endswith(".cnrm.cloud.google.com")
    }
    assert left == existing
