"""The GitOps layout (deploy/) and `make deploy` (scripts/deploy.sh), offline.

deploy/<env> is built with the pinned kustomize as Flux's kustomize-controller builds it (load
restrictions off), and every object it gives is validated strictly against the CRDs of the
pinned source-controller and helm-controller (crd_schemas.py: an unknown field is an error, the
CEL rules are evaluated), then against this project's own rules (an exact chart version, cosign
verification on, rollback on a failed upgrade, values from the files and nowhere else).

scripts/deploy.sh runs in throwaway git repositories holding the script, deploy/ and the charts,
with releases made as `make release` leaves them (a commit with the version, a tag chart-vX.Y.Z)
and, for the registry half, the charts pushed to the Distribution registry of `make tools`.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import REPO, _script_variable, helm_binary
from crd_schemas import CrdValidator

INSTALL_TOOLS = REPO / "scripts" / "install-tools.sh"
DEPLOY = REPO / "deploy"
ENVIRONMENTS = ("local", "production")
FLUX_VERSIONS = {
    "source-controller": _script_variable(INSTALL_TOOLS, "FLUX_SOURCE_CONTROLLER_VERSION"),
    "helm-controller": _script_variable(INSTALL_TOOLS, "FLUX_HELM_CONTROLLER_VERSION"),
}
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
PLACEHOLDERS = {"<project>": "pantry-chef-prod", "<region>": "europe-west1"}

Obj = dict[str, Any]


# --- the pinned schemas and kustomize ---------------------------------------------------------


def pinned_flux_crds() -> dict[Path, str]:
    """Path of each CRD file -> its pinned SHA-256, as scripts/install-tools.sh pins them."""
    block = re.search(r'^FLUX_CRDS="\n(.*?)^"', INSTALL_TOOLS.read_text(), re.M | re.S)
    assert block, "scripts/install-tools.sh defines no FLUX_CRDS"
    root = Path(os.environ.get("FLUX_CRDS_DIR") or REPO / ".tools" / "flux")
    pins = {}
    for line in block.group(1).splitlines():
        sha, module, name = line.split()
        pins[root / f"{module}-{FLUX_VERSIONS[module]}" / name] = sha
    return pins


@functools.cache
def flux() -> CrdValidator:
    missing = [str(f) for f in pinned_flux_crds() if not f.exists()]
    if missing:
        pytest.fail(f"Flux CRDs missing: {missing}: run `make tools` (scripts/install-tools.sh)")
    return CrdValidator(*pinned_flux_crds())


def kustomize_binary() -> str:
    kustomize = os.environ.get("KUSTOMIZE") or str(REPO / ".tools" / "bin" / "kustomize")
    if not Path(kustomize).exists():
        pytest.fail(f"kustomize not found at {kustomize}: run `make tools`")
    return kustomize


def kustomize_build(folder: Path) -> list[Obj]:
    result = subprocess.run(
        [kustomize_binary(), "build", "--load-restrictor", "LoadRestrictionsNone", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@functools.cache
def _built(env: str) -> tuple[Obj, ...]:
    return tuple(kustomize_build(DEPLOY / env))


def built(env: str) -> list[Obj]:
    return copy.deepcopy(list(_built(env)))


def the(objects: list[Obj], kind: str) -> Obj:
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def generator_files(env: str) -> list[tuple[str, Path]]:
    """(ConfigMap key, file) of the kustomization's values generator, in order."""
    kustomization = yaml.safe_load((DEPLOY / env / "kustomization.yaml").read_text())
    (generator,) = kustomization["configMapGenerator"]
    pairs = []
    for entry in generator["files"]:
        key, _, file = entry.partition("=")
        pairs.append((key, (DEPLOY / env / file).resolve()))
    return pairs


# --- the project's rules, beyond what the CRDs check ------------------------------------------


def rule_errors(objects: list[Obj]) -> list[str]:
    """What the schemas allow but a deploy here must not do."""
    errors: list[str] = []
    kinds = sorted(o["kind"] for o in objects)
    if kinds != ["ConfigMap", "HelmRelease", "OCIRepository"]:
        return [f"expected one ConfigMap, HelmRelease and OCIRepository, found {kinds}"]
    source, release = the(objects, "OCIRepository"), the(objects, "HelmRelease")
    configmap = the(objects, "ConfigMap")
    for obj in objects:
        if obj["metadata"].get("namespace") != "pantry":
            errors.append(f"{obj['kind']}: not in namespace pantry")

    spec = source["spec"]
    ref = spec.get("ref", {})
    if set(ref) != {"tag"} or not SEMVER.match(str(ref.get("tag", ""))):
        errors.append(f"OCIRepository: ref must be one exact SemVer tag, not {ref}")
    if not str(spec.get("url", "")).endswith("/charts/pantry-chef"):
        errors.append(f"OCIRepository: url {spec.get('url')} is not <registry>/charts/pantry-chef")
    verify = spec.get("verify") or {}
    if verify.get("provider") != "cosign" or not (verify.get("secretRef") or {}).get("name"):
        errors.append(f"OCIRepository: verify must be cosign with a secretRef, not {verify}")
    if spec.get("layerSelector") != {"mediaType": HELM_LAYER, "operation": "copy"}:
        errors.append(f"OCIRepository: layerSelector must pick the chart layer ({HELM_LAYER})")

    spec = release["spec"]
    if "chart" in spec:
        errors.append("HelmRelease: spec.chart (a HelmChart, a version range) instead of chartRef")
    chart_ref = spec.get("chartRef", {})
    wanted = {"kind": "OCIRepository", "name": source["metadata"]["name"]}
    if {k: v for k, v in chart_ref.items() if k != "namespace"} != wanted or chart_ref.get(
        "namespace", "pantry"
    ) != release["metadata"].get("namespace"):
        errors.append(f"HelmRelease: chartRef must be {wanted} in its namespace, not {chart_ref}")
    if spec.get("releaseName") != "pantry-chef":
        errors.append("HelmRelease: releaseName must be pantry-chef (the release make dev names)")
    if not spec.get("timeout"):
        errors.append("HelmRelease: no timeout")
    for action in ("install", "upgrade"):
        remediation = (spec.get(action) or {}).get("remediation") or {}
        if not (remediation.get("retries", 0) > 0 and remediation.get("remediateLastFailure")):
            errors.append(
                f"HelmRelease: {action}.remediation needs retries and remediateLastFailure"
            )
    if (spec.get("upgrade") or {}).get("remediation", {}).get("strategy", "rollback") != "rollback":
        errors.append("HelmRelease: a failed upgrade must be rolled back")
    if "values" in spec:
        errors.append("HelmRelease: inline values (the values come from helm/values/ files only)")
    for entry in spec.get("valuesFrom", []):
        if entry.get("kind") != "ConfigMap" or entry.get("name") != configmap["metadata"]["name"]:
            errors.append(f"HelmRelease: valuesFrom {entry} is not the generated ConfigMap")
        elif entry.get("valuesKey") not in configmap.get("data", {}):
            errors.append(f"HelmRelease: valuesFrom key {entry.get('valuesKey')} is not in it")
        if entry.get("optional"):
            errors.append(f"HelmRelease: valuesFrom {entry} must not be optional")
    return errors


def all_errors(objects: list[Obj]) -> list[str]:
    errors = []
    for obj in objects:
        label = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "ConfigMap" and obj["apiVersion"] == "v1":
            continue
        if not flux().knows(obj):
            errors.append(f"{label}: no pinned Flux CRD serves {obj['apiVersion']} {obj['kind']}")
            continue
        errors += [f"{label}: {e}" for e in flux().errors(obj)]
    return errors + rule_errors(objects)


def test_flux_crds_are_the_pinned_release() -> None:
    for path, sha in pinned_flux_crds().items():
        assert path.exists(), f"{path}: run `make tools`"
        got = hashlib.sha256(path.read_bytes()).hexdigest()
        assert got == sha, f"{path.name}: SHA-256 {got}, pinned {sha}"


def test_flux_versions_are_pinned_exactly() -> None:
    text = INSTALL_TOOLS.read_text()
    for name in (
        "FLUX_SOURCE_CONTROLLER_VERSION",
        "FLUX_HELM_CONTROLLER_VERSION",
        "KUSTOMIZE_VERSION",
    ):
        assert re.search(rf'^{name}="v\d+\.\d+\.\d+"$', text, re.M), name
    assert '"sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"' in text


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_object_is_valid(env: str) -> None:
    objects = built(env)
    assert {(o["apiVersion"], o["kind"]) for o in objects} == {
        ("v1", "ConfigMap"),
        ("source.toolkit.fluxcd.io/v1", "OCIRepository"),
        ("helm.toolkit.fluxcd.io/v2", "HelmRelease"),
    }
    errors = all_errors(objects)
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_values_are_the_files_themselves(env: str) -> None:
    """The ConfigMap holds the files make dev and the chart tests use, byte for byte, and the
    HelmRelease merges them in the generator's order (the order scripts/deploy.sh renders)."""
    objects = built(env)
    data = the(objects, "ConfigMap")["data"]
    files = generator_files(env)
    assert files[0][1] == REPO / "helm" / "values" / f"{env}.yaml"
    for key, file in files:
        assert data[key] == file.read_text(), f"{key} is not {file}"
    order = [entry["valuesKey"] for entry in the(objects, "HelmRelease")["spec"]["valuesFrom"]]
    assert order == [key for key, _ in files]
    # The ConfigMap's name carries a hash of its contents, and the HelmRelease names it: a
    # change to a values file changes the HelmRelease, which upgrades the release.
    name = the(objects, "ConfigMap")["metadata"]["name"]
    assert re.fullmatch(r"pantry-chef-values-[a-z0-9]{10}", name)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_values_render_the_chart(env: str, tmp_path: Path) -> None:
    """What the HelmRelease gives helm renders the chart (production with its site filled in)."""
    args = []
    for key, value in the(built(env), "ConfigMap")["data"].items():
        for placeholder, filled in PLACEHOLDERS.items():
            value = value.replace(placeholder, filled)
        (tmp_path / key).write_text(value)
        args += ["-f", str(tmp_path / key)]
    subprocess.run(
        [
            helm_binary(),
            "dependency",
            "build",
            str(REPO / "helm" / "pantry-chef"),
            "--skip-refresh",
        ],
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [
            helm_binary(),
            "template",
            "pantry-chef",
            str(REPO / "helm" / "pantry-chef"),
            "-n",
            "pantry",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    if env == "production":
        assert "pantry-api@pantry-chef-prod.iam.gserviceaccount.com" in result.stdout


def test_production_leaves_only_marked_placeholders() -> None:
    """The site's facts are placeholders the user fills, and deploy.sh looks for exactly these."""
    text = "".join(p.read_text() for p in sorted((DEPLOY / "production").glob("*.yaml")))
    found = set(re.findall(r"<[a-z-]+>", text))
    assert found == set(PLACEHOLDERS)
    assert "<project>|<region>" not in (REPO / "scripts" / "deploy.sh").read_text()
    assert "<(project|region)>" in (REPO / "scripts" / "deploy.sh").read_text()


# --- broken objects are refused ---------------------------------------------------------------


def release_of(env: str = "production") -> tuple[list[Obj], Obj]:
    objects = built(env)
    return objects, the(objects, "HelmRelease")


def test_a_misspelt_field_is_refused() -> None:
    objects, release = release_of()
    remediation = release["spec"]["upgrade"]["remediation"]
    remediation["remediateLastFailures"] = remediation.pop("remediateLastFailure")
    errors = flux().errors(release)
    assert any("remediateLastFailures" in e for e in errors), errors
    assert any("remediateLastFailure" in e for e in rule_errors(objects))


def test_a_wrong_value_and_a_wrong_duration_are_refused() -> None:
    _, release = release_of()
    release["spec"]["upgrade"]["remediation"]["strategy"] = "rollbak"
    release["spec"]["timeout"] = "ten minutes"
    errors = flux().errors(release)
    assert any("rollbak" in e for e in errors), errors
    assert any("ten minutes" in e for e in errors), errors


def test_chart_and_chart_ref_together_are_refused_by_the_crd_rule() -> None:
    _, release = release_of()
    release["spec"]["chart"] = {
        "spec": {"chart": "pantry-chef", "sourceRef": {"kind": "HelmRepository", "name": "x"}}
    }
    assert any("chartRef" in e for e in flux().errors(release))


@pytest.mark.parametrize(
    "ref",
    [{"semver": ">=0.4.0"}, {"tag": "latest"}, {"tag": "0.4"}, {"tag": "0.4.0", "semver": "*"}],
)
def test_a_version_that_is_not_exact_is_refused(ref: dict[str, str]) -> None:
    objects = built("production")
    the(objects, "OCIRepository")["spec"]["ref"] = ref
    assert not flux().errors(the(objects, "OCIRepository")), (
        "the CRD allows it: the rule must refuse"
    )
    assert any("exact SemVer tag" in e for e in rule_errors(objects))


def test_a_helm_chart_with_a_version_range_is_refused() -> None:
    """spec.chart with a version range is a valid HelmRelease, and not one deployed here."""
    objects, release = release_of()
    del release["spec"]["chartRef"]
    release["spec"]["chart"] = {
        "spec": {
            "chart": "pantry-chef",
            "version": ">=0.4.0",
            "sourceRef": {"kind": "HelmRepository", "name": "pantry-chef"},
        }
    }
    assert not flux().errors(release)
    assert any("version range" in e for e in rule_errors(objects))


def test_verification_off_is_refused() -> None:
    objects = built("local")
    del the(objects, "OCIRepository")["spec"]["verify"]
    assert any("cosign" in e for e in rule_errors(objects))


def test_an_unknown_kind_is_not_taken_for_valid() -> None:
    objects = built("local")
    the(objects, "HelmRelease")["apiVersion"] = "helm.toolkit.fluxcd.io/v2beta1"
    assert any("no pinned Flux CRD" in e for e in all_errors(objects))


# --- scripts/deploy.sh in throwaway repositories ----------------------------------------------

DEPLOY_INPUTS = (
    "scripts/deploy.sh",
    "scripts/check-chart-version.sh",
    "deploy",
    "helm/pantry-chef",
    "helm/pantry-lib",
    "helm/values",
)


def clean_env(tmp: Path) -> dict[str, str]:
    """Git without the user's configuration, helm with its own folders, no make variables."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GIT_", "HELM_"))
        and key not in ("ENV", "VERSION", "APPLY", "REGISTRY", "REGISTRY_PLAIN_HTTP")
    }
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Deploy Test",
        GIT_AUTHOR_EMAIL="deploy-test@example.invalid",
        GIT_COMMITTER_NAME="Deploy Test",
        GIT_COMMITTER_EMAIL="deploy-test@example.invalid",
        HELM_CONFIG_HOME=str(tmp / "helm" / "config"),
        HELM_CACHE_HOME=str(tmp / "helm" / "cache"),
        HELM_DATA_HOME=str(tmp / "helm" / "data"),
    )
    return env


def bump(version: str) -> str:
    major, minor, patch = (int(p) for p in version.split("-")[0].split("+")[0].split("."))
    return f"{major}.{minor}.{patch + 1}"


class Site:
    """A throwaway repository: deploy/ as committed here, the deployed version released (tagged),
    then a newer release `next` with a change the diff must show."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = clean_env(root.parent)
        self.deployed = deployed_tag(DEPLOY / "local" / "pantry-chef.yaml")
        assert deployed_tag(DEPLOY / "production" / "pantry-chef.yaml") == self.deployed
        self.next = bump(self.deployed)
        for name in DEPLOY_INPUTS:
            source, dest = REPO / name, root / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, dest, ignore=shutil.ignore_patterns("*.tgz"))
            else:
                shutil.copy2(source, dest)
        (root / ".tools").symlink_to(REPO / ".tools")
        (root / ".gitignore").write_text("/.tools\nhelm/*/charts/\n")
        self.git("init", "-q", "-b", "main")
        self.set_chart_version(self.deployed)
        self.commit(f"Release chart pantry-chef {self.deployed}")
        self.git("tag", "-a", f"chart-v{self.deployed}", "-m", self.deployed)
        self.set_chart_version(self.next)
        self.commit(f"Release chart pantry-chef {self.next}")
        self.git("tag", "-a", f"chart-v{self.next}", "-m", self.next)

    def git(self, *args: str) -> str:
        result = subprocess.run(
            ["git", "-C", str(self.root), *args], env=self.env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def set_chart_version(self, version: str) -> None:
        chart = self.root / "helm" / "pantry-chef" / "Chart.yaml"
        chart.write_text(re.sub(r"(?m)^version: .*$", f"version: {version}", chart.read_text()))

    def deploy(self, **variables: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "scripts/deploy.sh"],
            cwd=self.root,
            env={**self.env, **variables},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def fill_in_production(self) -> None:
        for path in (self.root / "deploy" / "production").glob("*.yaml"):
            text = path.read_text()
            for placeholder, filled in PLACEHOLDERS.items():
                text = text.replace(placeholder, filled)
            path.write_text(text)
        self.commit("production: this site's project and region")


def deployed_tag(path: Path) -> str:
    source = next(d for d in yaml.safe_load_all(path.read_text()) if d["kind"] == "OCIRepository")
    tag: str = source["spec"]["ref"]["tag"]
    return tag


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path / "repo")


def test_a_dry_run_prints_the_diff_and_changes_nothing(site: Site) -> None:
    head = site.head()
    result = site.deploy(ENV="local")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"local: pantry-chef {site.deployed} deployed (tag chart-v{site.deployed})" in out
    assert f"local: pantry-chef {site.next} proposed (tag chart-v{site.next})" in out
    assert "values: helm/values/local.yaml\n" in out
    # The one line APPLY=1 would change, then the rendered objects, old against new.
    assert f'-    tag: "{site.deployed}"\n+    tag: "{site.next}"\n' in out
    assert (
        f"--- local: pantry-chef {site.deployed} (deployed)\n+++ local: pantry-chef {site.next}\n"
        in out
    )
    label = "    helm.sh/chart: pantry-chef-"
    assert f"-{label}{site.deployed}\n+{label}{site.next}\n" in out
    assert "dry run: nothing changed" in out
    assert site.head() == head
    assert site.git("status", "--porcelain") == ""


def test_a_dry_run_shows_a_values_change_of_the_working_tree(site: Site) -> None:
    values = site.root / "helm" / "values" / "local.yaml"
    values.write_text(
        values.read_text().replace('PANTRY_LOG_LEVEL: "INFO"', 'PANTRY_LOG_LEVEL: "DEBUG"')
    )
    result = site.deploy(ENV="local", VERSION=site.deployed)
    assert result.returncode == 0, result.stderr
    assert '-  PANTRY_LOG_LEVEL: "INFO"\n+  PANTRY_LOG_LEVEL: "DEBUG"\n' in result.stdout
    assert "no change (the tag is" in result.stdout
    assert "APPLY=1 would refuse" in result.stdout


def test_apply_makes_one_commit_that_changes_only_the_version(site: Site) -> None:
    head = site.head()
    result = site.deploy(ENV="local", APPLY="1")
    assert result.returncode == 0, result.stderr
    assert site.git("rev-parse", "HEAD~1") == head
    assert site.git("rev-list", "--count", f"{head}..HEAD") == "1"
    assert site.git("diff", "--numstat", head, "HEAD") == "1\t1\tdeploy/local/pantry-chef.yaml"
    patch = site.git("diff", "-U0", head, "HEAD")
    assert f'-    tag: "{site.deployed}"\n+    tag: "{site.next}"' in patch
    assert site.git("log", "-1", "--format=%s") == (
        f"Deploy pantry-chef {site.next} to local (was {site.deployed})"
    )
    assert deployed_tag(site.root / "deploy" / "local" / "pantry-chef.yaml") == site.next
    assert site.git("status", "--porcelain") == ""
    # The layout stays valid after the commit: the tag is the one thing that moved.
    errors = all_errors(kustomize_build(site.root / "deploy" / "local"))
    assert not errors, errors


@pytest.mark.parametrize("change", ["untracked", "modified"])
def test_apply_refuses_a_dirty_tree(site: Site, change: str) -> None:
    head = site.head()
    if change == "untracked":
        (site.root / "notes.txt").write_text("x\n")
    else:
        values = site.root / "helm" / "values" / "local.yaml"
        values.write_text(values.read_text() + "# edited\n")
    result = site.deploy(ENV="local", APPLY="1")
    assert result.returncode == 1
    assert "the working tree is not clean" in result.stderr
    assert ("notes.txt" if change == "untracked" else "helm/values/local.yaml") in result.stderr
    assert site.head() == head


def test_apply_refuses_a_version_that_is_not_greater(site: Site) -> None:
    assert site.deploy(ENV="local", APPLY="1").returncode == 0
    head = site.head()
    for version in (site.deployed, site.next):
        result = site.deploy(ENV="local", APPLY="1", VERSION=version)
        assert result.returncode == 1
        assert (
            f"VERSION={version} refused: {version} is not greater than {site.next}" in result.stderr
        )
        assert "revert the commit" in result.stderr
    assert site.head() == head


def test_a_version_that_is_not_semver_is_refused(site: Site) -> None:
    result = site.deploy(ENV="local", VERSION="1.0")
    assert result.returncode == 1
    assert "1.0 is not a SemVer version" in result.stderr


def test_apply_refuses_a_version_that_was_never_released(site: Site) -> None:
    head = site.head()
    later = bump(site.next)
    result = site.deploy(ENV="local", APPLY="1", VERSION=later)
    assert result.returncode == 1
    assert f"pantry-chef {later} was never released: no tag chart-v{later}" in result.stderr
    # The working tree's chart, not released yet: a dry run shows it, APPLY=1 refuses it.
    site.set_chart_version(later)
    site.commit("a change on the way to the next release")
    assert "not released" in site.deploy(ENV="local", VERSION=later).stdout
    result = site.deploy(ENV="local", APPLY="1", VERSION=later)
    assert result.returncode == 1
    assert f"make release VERSION={later} first" in result.stderr
    assert site.git("rev-list", "--count", f"{head}..HEAD") == "1"


def test_production_refuses_its_placeholders_then_deploys(site: Site) -> None:
    result = site.deploy(ENV="production")
    assert result.returncode == 1
    assert "deploy/production still has placeholders" in result.stderr
    assert "deploy/production/site-values.yaml:" in result.stderr
    site.fill_in_production()
    result = site.deploy(ENV="production")
    assert result.returncode == 0, result.stderr
    assert (
        "values: helm/values/production.yaml deploy/production/site-values.yaml\n" in result.stdout
    )
    assert f"+    helm.sh/chart: pantry-chef-{site.next}" in result.stdout
    head = site.head()
    assert site.deploy(ENV="production", APPLY="1").returncode == 0
    assert site.git("diff", "--numstat", head, "HEAD") == "1\t1\tdeploy/production/pantry-chef.yaml"


def test_an_unknown_environment_is_refused(site: Site) -> None:
    result = site.deploy(ENV="staging")
    assert result.returncode == 1
    assert "there is no deploy/staging" in result.stderr


def test_with_a_registry_the_chart_comes_from_it_and_must_be_there(
    site: Site, registry: str, tmp_path: Path
) -> None:
    """REGISTRY: both charts are pulled from the registry; a version it does not have is refused,
    even though its tag exists."""
    packages = tmp_path / "packages"
    for version in (site.deployed, site.next):
        worktree = tmp_path / f"chart-{version}"
        site.git("worktree", "add", "-q", str(worktree), f"chart-v{version}")
        for args in (
            ["dependency", "build", str(worktree / "helm" / "pantry-chef"), "--skip-refresh"],
            ["package", str(worktree / "helm" / "pantry-chef"), "-d", str(packages)],
            [
                "push",
                str(packages / f"pantry-chef-{version}.tgz"),
                f"oci://{registry}/charts",
                "--plain-http",
            ],
        ):
            run = subprocess.run(
                [helm_binary(), *args], env=site.env, capture_output=True, text=True
            )
            assert run.returncode == 0, run.stderr
        site.git("worktree", "remove", "--force", str(worktree))
    variables = {"ENV": "local", "REGISTRY": registry, "REGISTRY_PLAIN_HTTP": "1"}
    result = site.deploy(**variables)
    assert result.returncode == 0, result.stderr
    assert f"proposed (oci://{registry}/charts/pantry-chef:{site.next})" in result.stdout
    assert f"+    helm.sh/chart: pantry-chef-{site.next}" in result.stdout
    # Released in git (tagged), never pushed: refused.
    later = bump(site.next)
    site.set_chart_version(later)
    site.commit(f"Release chart pantry-chef {later}")
    site.git("tag", "-a", f"chart-v{later}", "-m", later)
    head = site.head()
    result = site.deploy(**variables, VERSION=later, APPLY="1")
    assert result.returncode == 1
    assert f"pantry-chef {later} is not in oci://{registry}/charts/pantry-chef" in result.stderr
    assert site.head() == head
