"""The other deployment files: k3d's cluster config, the Dockerfiles, the infrastructure values,
the scripts and their pinned versions."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import ISTIO_VERSION, REPO
from jsonschema import Draft7Validator

K3D_CONFIG = REPO / "k3d" / "cluster.yaml"
# k3d's schema: the shared copy where it exists (CI), else the one `make tools` fetched and
# checked against its pinned SHA-256 (a Mac); K3D_CONFIG_SCHEMA overrides both.
_SHARED_K3D_SCHEMA = REPO.parent / "shared" / "schemas" / "k3d-config-v1alpha5.schema.json"
K3D_SCHEMA = Path(
    os.environ.get("K3D_CONFIG_SCHEMA")
    or (
        _SHARED_K3D_SCHEMA
        if _SHARED_K3D_SCHEMA.exists()
        else REPO / ".tools" / "k3d" / "config-v1alpha5.schema.json"
    )
)
DEV = REPO / "scripts" / "dev.sh"
INSTALL_TOOLS = REPO / "scripts" / "install-tools.sh"

# --- k3d ---------------------------------------------------------------------------------------


def k3d_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(K3D_CONFIG.read_text())
    return config


def test_k3d_config_matches_the_schema() -> None:
    assert K3D_SCHEMA.exists(), (
        f"no schema at {K3D_SCHEMA}: make tools (K3D_CONFIG_SCHEMA overrides)"
    )
    schema = json.loads(K3D_SCHEMA.read_text())
    errors = [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft7Validator(schema).iter_errors(k3d_config())
    ]
    assert not errors, "\n".join(errors)


def test_k3d_cluster_shape() -> None:
    config = k3d_config()
    assert config["apiVersion"] == "k3d.io/v1alpha5" and config["kind"] == "Simple"
    assert config["servers"] == 1 and config["agents"] == 2
    assert re.fullmatch(r"rancher/k3s:v\d+\.\d+\.\d+-k3s\d+", config["image"]), "pin the k3s image"
    ports = {p["port"]: p["nodeFilters"] for p in config["ports"]}
    assert ports == {"8080:80": ["loadbalancer"], "8443:443": ["loadbalancer"]}
    args = config["options"]["k3s"]["extraArgs"]
    assert {"arg": "--disable=traefik", "nodeFilters": ["server:*"]} in args


def test_k3d_registry_is_not_on_port_5000() -> None:
    """macOS's AirPlay Receiver listens on port 5000."""
    registry = k3d_config()["registries"]["create"]
    assert registry["hostPort"] != "5000"
    assert registry["name"].endswith(".localhost")
    dev = DEV.read_text()
    assert f'REGISTRY_PUSH="localhost:{registry["hostPort"]}"' in dev
    assert f'REGISTRY_NODES="{registry["name"]}:5000"' in dev
    assert f'CLUSTER="{k3d_config()["metadata"]["name"]}"' in dev
    local = yaml.safe_load((REPO / "helm" / "values" / "local.yaml").read_text())
    assert local["image"]["registry"] == f"{registry['name']}:5000"


# --- Dockerfiles ---------------------------------------------------------------------------------

SERVICES = {
    "api": ("pantry-api", "pantry_api", 8000),
    "recipe-engine": ("pantry-engine", "pantry_engine", 8002),
    "realtime": ("pantry-realtime", "pantry_realtime", 8001),
}


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    out = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


@pytest.mark.parametrize("service", list(SERVICES))
def test_dockerfile(service: str) -> None:
    package, module, port = SERVICES[service]
    path = REPO / "services" / service / "Dockerfile"
    steps = instructions(path)
    args = {a.split("=", 1)[0]: a.split("=", 1)[1] for k, a in steps if k == "ARG" and "=" in a}

    # Base images pinned by tag (a slim Python 3.11 that exists for amd64 and arm64), never latest.
    for image in args.values():
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest", image
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", args["PYTHON_IMAGE"])
    assert re.fullmatch(r"ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+", args["UV_IMAGE"])
    froms = [a for k, a in steps if k == "FROM"]
    assert len(froms) >= 3, "multi-stage"
    for source in froms:
        assert "latest" not in source

    runs = " ".join(a for k, a in steps if k == "RUN")
    # Dependencies first (cached apart from the code), then the code, not editable.
    deps = f"uv sync --locked --no-dev --no-install-workspace --package {package}"
    code = f"uv sync --locked --no-dev --no-editable --package {package}"
    assert deps in runs and code in runs
    assert runs.index(deps) < runs.index(code)
    copies = [a for k, a in steps if k == "COPY"]
    assert f"services/{service}/ ./services/{service}/" in copies
    assert "libs/ ./libs/" in copies

    envs = " ".join(a for k, a in steps if k == "ENV")
    assert "UV_COMPILE_BYTECODE=1" in envs, "compile bytecode at build time"
    assert "PYTHONDONTWRITEBYTECODE=1" in envs, "write nothing at run time"

    (user,) = [a for k, a in steps if k == "USER"]
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user), f"USER must be numeric uid:gid, not {user!r}"
    cmd = [a for k, a in steps if k == "CMD"][-1]
    assert json.loads(cmd) == ["python", "-m", module], (
        "exec form: Python is PID 1 and gets SIGTERM"
    )
    assert [a for k, a in steps if k == "EXPOSE"] == [str(port)]
    assert not [a for k, a in steps if k == "ENTRYPOINT"]

    # What it copies exists: the package is a workspace member with that import package.
    member = REPO / "services" / service
    project = tomllib.loads((member / "pyproject.toml").read_text())["project"]
    assert project["name"] == package
    assert (member / module / "__init__.py").exists()
    assert (member / "README.md").exists(), "hatchling reads it when building the wheel"
    lock = (REPO / "uv.lock").read_text()
    assert f'name = "{package}"' in lock
    # The chart runs the same user.
    values = yaml.safe_load((REPO / "helm" / "pantry-chef" / "values.yaml").read_text())
    pod = values["podSecurityContext"]
    assert user == f"{pod['runAsUser']}:{pod['runAsGroup']}"


def test_dockerignore() -> None:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    ignored = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for entry in ("**/.git", "**/.venv", "**/__pycache__", ".tools", ".run", "helm", "k3d"):
        assert entry in ignored, entry
    for needed in ("libs", "services", "uv.lock", "pyproject.toml"):
        assert needed not in ignored, needed


# --- infrastructure values -----------------------------------------------------------------------


@pytest.mark.parametrize("chart", ["postgresql", "redis", "rabbitmq"])
def test_infra_images_pull_today(chart: str) -> None:
    """Bitnami's versioned images live in bitnamilegacy since 2025; the charts still name
    bitnami/* and refuse other images unless allowInsecureImages is set."""
    values = yaml.safe_load((REPO / "helm" / "infra" / f"{chart}.yaml").read_text())
    assert values["global"]["security"]["allowInsecureImages"] is True
    image = values["image"]
    assert image["repository"] == f"bitnamilegacy/{chart}"
    assert re.fullmatch(r"\d+\.\d+\.\d+-debian-12-r\d+", image["tag"]), "pin the tag, never latest"
    assert values["volumePermissions"]["image"]["repository"] == "bitnamilegacy/os-shell"
    version_variable = f"{chart.upper()}_CHART_VERSION"
    assert re.search(rf'^{version_variable}="\d+\.\d+\.\d+"', DEV.read_text(), re.MULTILINE)
    assert "pantry-infra-credentials" in str(values["auth"])


# --- New Relic's Kubernetes integration (nri-bundle) ---------------------------------------------

NEWRELIC = REPO / "helm" / "infra" / "newrelic.yaml"
NEWRELIC_PRODUCTION = REPO / "helm" / "infra" / "newrelic-production.yaml"


def test_newrelic_values_keep_the_key_out_and_the_data_low() -> None:
    text = NEWRELIC.read_text() + NEWRELIC_PRODUCTION.read_text()
    values = yaml.safe_load(NEWRELIC.read_text())
    assert not re.search(r"(?im)^\s*licenseKey\s*:", text), "the key comes from a Secret"
    glob = values["global"]
    assert glob["customSecretName"] == "newrelic-license"
    assert glob["customSecretLicenseKey"] == "license-key"
    assert glob["lowDataMode"] is True
    for chart in (
        "newrelic-infrastructure",
        "kube-state-metrics",
        "nri-kube-events",
        "newrelic-logging",
        "nri-prometheus",
    ):
        assert values[chart]["enabled"] is True, chart
    assert values["newrelic-prometheus-agent"]["enabled"] is False, "one Prometheus scraper"
    assert values["kube-state-metrics"]["prometheusScrape"] is False


def test_newrelic_sends_only_pantry_metrics() -> None:
    """nri-prometheus: an `except`-only ignore rule keeps what matches and drops the rest, as
    long as no rule lists prefixes; its low-data-mode defaults would add prefixes, so that mode
    is off for this one chart."""
    prometheus = yaml.safe_load(NEWRELIC.read_text())["nri-prometheus"]
    assert prometheus["lowDataMode"] is False
    rules = [r for t in prometheus["config"]["transformations"] for r in t["ignore_metrics"]]
    assert rules == [{"except": ["pantry_"]}]
    assert prometheus["config"]["scrape_services"] is False
    assert prometheus["config"]["scrape_endpoints"] is False


def test_newrelic_logs_come_from_the_cluster_only() -> None:
    logging = yaml.safe_load(NEWRELIC.read_text())["newrelic-logging"]
    paths = logging["fluentBit"]["path"].split(",")
    assert paths == [
        "/var/log/containers/*_pantry_*.log",
        "/var/log/containers/*_pantry-infra_*.log",
    ]
    dev = DEV.read_text()
    assert 'NEWRELIC_SECRET="newrelic-license"' in dev
    chart = yaml.safe_load((REPO / "helm" / "pantry-chef" / "values.yaml").read_text())
    assert chart["newRelic"]["licenseKeySecret"] == {
        "name": "newrelic-license",
        "key": "license-key",
    }


def test_newrelic_cluster_names_match_the_alert_conditions() -> None:
    local = yaml.safe_load(NEWRELIC.read_text())["global"]["cluster"]
    production = yaml.safe_load(NEWRELIC_PRODUCTION.read_text())["global"]["cluster"]
    assert f"${{NEW_RELIC_CLUSTER_NAME:-{local}}}" in DEV.read_text()
    alerts = (REPO / "observability" / "alerts" / "_plan.py").read_text()
    assert f'DEFAULT_CLUSTER = "{production}"' in alerts


def test_nri_bundle_is_pinned() -> None:
    dev = DEV.read_text()
    assert re.search(r'^NRI_BUNDLE_CHART_VERSION="\d+\.\d+\.\d+"$', dev, re.MULTILINE)
    assert '--version "$NRI_BUNDLE_CHART_VERSION"' in dev
    assert "-f helm/infra/newrelic.yaml" in dev


# --- scripts -------------------------------------------------------------------------------------

SCRIPTS = [
    DEV,
    INSTALL_TOOLS,
    REPO / "scripts" / "cluster.sh",
    REPO / "scripts" / "cluster" / "docker.sh",
    REPO / "scripts" / "check-chart-version.sh",
    REPO / "scripts" / "release.sh",
    REPO / "scripts" / "scan.sh",
    REPO / "scripts" / "deploy.sh",
]
GNU_ONLY = [
    (r"\bsed\s+-i(\s|$)", "sed -i without a suffix (BSD sed needs one: sed -i.bak)"),
    (r"\bsed\s+-r\b", "sed -r (use -E)"),
    (r"\breadlink\s+-f\b", "readlink -f"),
    (r"\bgrep\s+(-\w*P|--perl)", "grep -P"),
    (r"\bdate\s+-d\b", "date -d"),
    (r"\bbase64\s+(-d|--decode)\b", "base64 -d (macOS 12 and older spell it -D)"),
    (r"(?<![-\w])timeout\s+\d", "timeout (not on macOS)"),
    (r"\bdeclare\s+-A\b", "associative arrays (bash 4)"),
    (r"\bmapfile\b|\breadarray\b", "mapfile (bash 4)"),
    (r"\$\{\w+(\^\^|,,)", "case conversion (bash 4)"),
    (r"&>>", "&>> (bash 4)"),
    (r"\bxargs\s+-r\b", "xargs -r"),
    (r"\bfind\b.*-printf\b", "find -printf"),
]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_are_portable(script: Path) -> None:
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        for pattern, what in GNU_ONLY:
            if re.search(pattern, line):
                problems.append(f"{script.name}:{number}: {what}: {line.strip()}")
    assert not problems, "\n".join(problems)
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_scripts_pass_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if not shellcheck:
        pytest.fail("shellcheck is missing: apt-get install shellcheck, or brew install shellcheck")
    result = subprocess.run(
        [shellcheck, "-s", "bash", *map(str, SCRIPTS)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_istio_version_is_the_same_everywhere() -> None:
    """The chart tests validate against the CRDs of the Istio that `make dev` installs."""
    assert re.search(
        rf'^ISTIO_VERSION="{re.escape(ISTIO_VERSION)}"$', DEV.read_text(), re.MULTILINE
    )


def test_tools_are_pinned() -> None:
    text = INSTALL_TOOLS.read_text()
    helm = re.search(r'^HELM_VERSION="v(\d+)\.(\d+)\.(\d+)"$', text, re.MULTILINE)
    assert helm and (int(helm.group(1)), int(helm.group(2))) >= (3, 19)
    assert 'GOBIN="$BIN_DIR"' in text and "go install" in text
    assert "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" in text
    assert 'go mod download -json "istio.io/api@v$ISTIO_VERSION"' in text
    assert re.fullmatch(r"\d+\.\d+\.\d+", ISTIO_VERSION)
    assert re.search(r'^PROMETHEUS_OPERATOR_VERSION="v\d+\.\d+\.\d+"$', text, re.MULTILINE)
    assert re.search(r'^PROMETHEUS_MODULE_VERSION="v0\.\d+\.\d+"$', text, re.MULTILINE)
    assert "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" in text
    assert "github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION" in text


def test_makefile_deployment_targets() -> None:
    makefile = (REPO / "Makefile").read_text()
    for target in (
        "tools",
        "images",
        "chart-test",
        "dev",
        "dev-down",
        "dev-status",
        "forward",
        "alerts",
        "dev-watch",
        "dev-image",
        "dev-logs",
        "dev-shell",
        "dev-scale",
        "chart-version",
        "chart-lint",
        "workflow-lint",
        "release",
        "deploy",
    ):
        assert re.search(rf"^{re.escape(target)}:.*## \S", makefile, re.MULTILINE), target
        assert re.search(rf"^\.PHONY: {re.escape(target)}$", makefile, re.MULTILINE), target
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert "make chart-test" in ci
    assert ci.index("make chart-test") < ci.index("make test")
    # The version checks and the workflows' lint are part of the chart tests, so CI runs them.
    chart_test = re.search(r"^chart-test:(.*)$", makefile, re.MULTILINE)
    assert chart_test and {"chart-version", "chart-lint", "workflow-lint"} <= set(
        chart_test.group(1).split()
    )


def test_release_tags_images_as_make_dev_does() -> None:
    """appVersion is the revision the images are built from: the tag make dev gives them."""
    assert 'rev="$(git rev-parse --short=12 HEAD)"' in DEV.read_text()
    release = (REPO / "scripts" / "release.sh").read_text()
    assert 'revision_short="$(git rev-parse --short=12 HEAD)"' in release
    assert "bash scripts/dev.sh images" in release
    assert "sed -i" not in release


def test_the_registry_is_the_one_kind_tools_pins() -> None:
    """The release tests' registry is the CI cluster's: the same module version in all three."""
    install = re.search(r'^REGISTRY_VERSION="(v[^"]+)"', INSTALL_TOOLS.read_text(), re.MULTILINE)
    cluster = re.search(
        r'^REGISTRY_VERSION="(v[^"]+)"', (REPO / "scripts" / "cluster.sh").read_text(), re.MULTILINE
    )
    go_mod = re.search(
        r"^\s+github\.com/distribution/distribution/v3 (v\S+)$",
        (REPO / "kind" / "tools" / "go.mod").read_text(),
        re.MULTILINE,
    )
    assert install and cluster and go_mod
    assert install.group(1) == cluster.group(1) == go_mod.group(1)


def test_actionlint_is_pinned() -> None:
    actionlint = re.search(
        r'^ACTIONLINT_VERSION="v\d+\.\d+\.\d+"$', INSTALL_TOOLS.read_text(), re.M
    )
    assert actionlint, "actionlint at an exact version"
    assert (
        "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
        in INSTALL_TOOLS.read_text()
    )
