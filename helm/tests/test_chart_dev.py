"""The inner loop's overlay (helm/values/dev.yaml, `make dev-watch`): each service runs from the
source tree the nodes have at /src and reloads itself; nothing else is relaxed, and no other
values file carries any of it."""

from __future__ import annotations

import re

import pytest
import yaml
from chart_render import (
    RELEASE,
    REPO,
    SCENARIOS,
    Obj,
    of_kind,
    one,
    render,
    render_error,
)

SOURCE_CLAIM = f"{RELEASE}-source"
MODULES = {"api": "pantry_api", "recipe-engine": "pantry_engine", "realtime": "pantry_realtime"}


def _container(deployment: Obj) -> Obj:
    containers: list[Obj] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _env(container: Obj) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def test_each_service_runs_the_mounted_tree_with_reload() -> None:
    objects = render(*SCENARIOS["dev"])
    for component, module in MODULES.items():
        deployment = one(objects, "Deployment", f"{RELEASE}-{component}")
        assert deployment["spec"]["replicas"] == 1
        container = _container(deployment)
        assert container["args"][:3] == ["python", "-m", module]
        assert container["args"][-1] == "--reload"
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts["source"] == {"name": "source", "mountPath": "/src", "readOnly": True}
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert volumes["source"]["persistentVolumeClaim"] == {
            "claimName": SOURCE_CLAIM,
            "readOnly": True,
        }
        # Every PYTHONPATH entry is a directory of this repository that holds a package the
        # service imports: the service's own first, then pantry_common.
        entries = _env(container)["PYTHONPATH"].split(":")
        assert len(entries) == 2
        found = []
        for entry in entries:
            assert entry.startswith("/src/")
            path = REPO / entry.removeprefix("/src/")
            found += [p.name for p in path.iterdir() if (p / "__init__.py").is_file()]
        assert found == [module, "pantry_common"]
        # Still as strict as the normal values: non-root, read-only root, no capabilities.
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]


def test_the_source_is_a_claim_on_a_hostpath_volume_the_restricted_namespace_admits() -> None:
    """The restricted Pod Security Standard refuses hostPath volumes in pods: the tree comes
    through a PersistentVolume bound to this release's claim, read-only."""
    objects = render(*SCENARIOS["dev"])
    for deployment in of_kind(objects, "Deployment"):
        assert all("hostPath" not in v for v in deployment["spec"]["template"]["spec"]["volumes"])
    claim = one(objects, "PersistentVolumeClaim", SOURCE_CLAIM)
    volume = one(objects, "PersistentVolume", claim["spec"]["volumeName"])
    assert volume["spec"]["hostPath"] == {"path": "/src", "type": "Directory"}
    assert volume["spec"]["claimRef"] == {"namespace": "pantry", "name": SOURCE_CLAIM}
    assert volume["spec"]["accessModes"] == claim["spec"]["accessModes"] == ["ReadOnlyMany"]
    assert volume["spec"]["storageClassName"] == claim["spec"]["storageClassName"] == ""
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "dev"])
def test_no_other_values_run_from_a_source_tree(scenario: str) -> None:
    objects = render(*SCENARIOS[scenario])
    assert not of_kind(objects, "PersistentVolume")
    for deployment in of_kind(objects, "Deployment"):
        container = _container(deployment)
        assert "--reload" not in container.get("args", [])
        assert "PYTHONPATH" not in _env(container)
        assert all(m["mountPath"] != "/src" for m in container["volumeMounts"])


def test_production_refuses_the_dev_overlay() -> None:
    error = render_error(*SCENARIOS["production"], "--set", "devReload.enabled=true")
    assert "never in production" in error


def test_the_nodes_of_both_clusters_have_the_tree_at_src() -> None:
    kind = yaml.safe_load((REPO / "kind" / "cluster.yaml").read_text())
    for node in kind["nodes"]:
        assert node["extraMounts"] == [
            {"hostPath": "@SOURCE@", "containerPath": "/src", "readOnly": True}
        ], node["role"]
    cluster_sh = (REPO / "scripts" / "cluster.sh").read_text()
    assert "s|@SOURCE@|$(pwd -P)|g" in cluster_sh
    dev_sh = (REPO / "scripts" / "dev.sh").read_text()
    assert re.search(
        r'k3d cluster create --config k3d/cluster.yaml --volume "\$\(pwd -P\):/src@all"', dev_sh
    )
