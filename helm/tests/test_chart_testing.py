"""chart-testing's `ct lint` as `make chart-lint` runs it (scripts/chart-lint.sh with ct.yaml):
each test builds a throwaway git repository holding the script, ct.yaml and two charts, and runs
the script there with the ct, helm, yamllint and yamale that `make tools` and `uv sync` install.
The last test runs it on this repository's own charts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from chart_render import REPO

TOOLS_BIN = REPO / ".tools" / "bin"
CT_ETC = REPO / ".tools" / "ct"

APP_CHART = """\
apiVersion: v2
name: app
version: {version}
appVersion: "0123456789ab"
{maintainers}dependencies:
  - name: lib
    version: 0.1.0
    repository: file://../lib
"""
LIB_CHART = "apiVersion: v2\nname: lib\ntype: library\nversion: 0.1.0\n"
TEMPLATE = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"


def env_for(tmp: Path) -> dict[str, str]:
    """Git without the user's configuration; helm with its own folders; the pinned tools first
    and the workspace's yamllint and yamale (this interpreter's bin) after them; no CT_ setting
    from outside."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GIT_", "HELM_", "CT_")) and key != "CHART_BASE"
    }
    env.update(
        PATH=os.pathsep.join([str(TOOLS_BIN), str(Path(sys.executable).parent), env["PATH"]]),
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Chart Test",
        GIT_AUTHOR_EMAIL="chart-test@example.invalid",
        GIT_COMMITTER_NAME="Chart Test",
        GIT_COMMITTER_EMAIL="chart-test@example.invalid",
        HELM_CONFIG_HOME=str(tmp / "helm" / "config"),
        HELM_CACHE_HOME=str(tmp / "helm" / "cache"),
        HELM_DATA_HOME=str(tmp / "helm" / "data"),
    )
    return env


def git(repo: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def commit_all(repo: Path, env: dict[str, str], message: str) -> None:
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-q", "-m", message)


def ct_lint(
    repo: Path, env: dict[str, str], *args: str, **variables: str
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["bash", "scripts/chart-lint.sh", *args],
        cwd=repo,
        env={**env, **variables},
        capture_output=True,
        text=True,
        timeout=120,
    )
    result.stdout += result.stderr  # ct prints its results on stdout, its errors on stderr
    return result


@pytest.fixture(scope="module", autouse=True)
def tools() -> None:
    for path in (TOOLS_BIN / "ct", TOOLS_BIN / "helm", CT_ETC / "lintconf.yaml"):
        if not path.exists():
            pytest.fail(f"no {path}: `make tools` (scripts/install-tools.sh) installs it")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return env_for(tmp_path)


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Path:
    """main: the script, ct.yaml, helm/app at 1.0.0 (on helm/lib 0.1.0); then a branch `change`."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(REPO / "scripts" / "chart-lint.sh", repo / "scripts")
    shutil.copy2(REPO / "ct.yaml", repo / "ct.yaml")
    shutil.copytree(CT_ETC, repo / ".tools" / "ct")
    (repo / ".gitignore").write_text("/.tools/\nhelm/*/charts/\n")
    (repo / "helm" / "app" / "templates").mkdir(parents=True)
    set_version(repo, "1.0.0")
    (repo / "helm" / "app" / "values.yaml").write_text("replicas: 1\n")
    (repo / "helm" / "app" / "templates" / "cm.yaml").write_text(TEMPLATE)
    (repo / "helm" / "lib").mkdir()
    (repo / "helm" / "lib" / "Chart.yaml").write_text(LIB_CHART)
    (repo / "helm" / "values").mkdir()
    (repo / "helm" / "values" / "local.yaml").write_text("replicas: 1\n")
    git(repo, env, "init", "-q", "-b", "main")
    commit_all(repo, env, "charts")
    git(repo, env, "checkout", "-q", "-b", "change")
    return repo


def change_template(repo: Path) -> None:
    (repo / "helm" / "app" / "templates" / "cm.yaml").write_text(TEMPLATE + "data: {}\n")


def set_version(repo: Path, version: str, maintainers: str = "") -> None:
    (repo / "helm" / "app" / "Chart.yaml").write_text(
        APP_CHART.format(version=version, maintainers=maintainers)
    )


def test_on_the_base_nothing_changed(repo: Path, env: dict[str, str]) -> None:
    git(repo, env, "checkout", "-q", "main")
    result = ct_lint(repo, env)
    assert result.returncode == 0, result.stdout
    assert "No chart changes detected." in result.stdout


def test_a_change_without_a_bump_is_refused(repo: Path, env: dict[str, str]) -> None:
    change_template(repo)
    commit_all(repo, env, "change the app's template only")
    result = ct_lint(repo, env)
    assert result.returncode == 1, result.stdout
    assert "Old chart version: 1.0.0\nNew chart version: 1.0.0" in result.stdout
    assert 'app => (version: "1.0.0", path: "helm/app") > chart version not ok' in result.stdout
    assert "Needs a version bump!" in result.stdout
    assert "helm/lib" not in result.stdout, "only the changed chart is linted"


def test_a_change_with_a_bump_passes(repo: Path, env: dict[str, str]) -> None:
    change_template(repo)
    set_version(repo, "1.1.0")
    commit_all(repo, env, "change and bump")
    result = ct_lint(repo, env)
    assert result.returncode == 0, result.stdout
    assert "New chart version: 1.1.0\nChart version ok." in result.stdout
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout  # helm lint ran
    assert "All charts linted successfully" in result.stdout
    assert "helm/lib" not in result.stdout


def test_a_lower_version_is_refused(repo: Path, env: dict[str, str]) -> None:
    change_template(repo)
    set_version(repo, "0.9.0")
    commit_all(repo, env, "a lower version")
    result = ct_lint(repo, env)
    assert result.returncode == 1 and "Needs a version bump!" in result.stdout, result.stdout


def test_files_beside_the_charts_are_not_a_chart_change(repo: Path, env: dict[str, str]) -> None:
    (repo / "helm" / "values" / "local.yaml").write_text("replicas: 2\n")
    commit_all(repo, env, "values of an environment")
    result = ct_lint(repo, env)
    assert result.returncode == 0, result.stdout
    assert "No chart changes detected." in result.stdout
    assert "not a valid chart directory" not in result.stdout


def test_yamllint_and_the_chart_schema_run_on_a_changed_chart(
    repo: Path, env: dict[str, str]
) -> None:
    set_version(repo, "1.1.0")
    (repo / "helm" / "app" / "values.yaml").write_text("replicas: 1\nreplicas: 2\n")
    commit_all(repo, env, "a duplicate key")
    result = ct_lint(repo, env)
    assert result.returncode == 1 and 'duplication of key "replicas"' in result.stdout, (
        result.stdout
    )
    (repo / "helm" / "app" / "values.yaml").write_text("replicas: 1\n")
    with (repo / "helm" / "app" / "Chart.yaml").open("a") as chart:
        chart.write("owner: someone\n")  # not a field of Chart.yaml
    commit_all(repo, env, "a field Chart.yaml does not have")
    result = ct_lint(repo, env)
    assert result.returncode == 1 and "owner: Unexpected element" in result.stdout, result.stdout


def test_a_ci_checkout_compares_with_origin_main(
    repo: Path, env: dict[str, str], tmp_path: Path
) -> None:
    change_template(repo)
    commit_all(repo, env, "change")
    clone = tmp_path / "clone"
    git(tmp_path, env, "clone", "-q", "--branch", "change", str(repo), str(clone))
    shutil.copytree(CT_ETC, clone / ".tools" / "ct")
    assert git(clone, env, "branch", "--list", "main") == ""
    result = ct_lint(clone, env)
    assert result.returncode == 1 and "Needs a version bump!" in result.stdout, result.stdout
    set_version(clone, "1.0.1")
    commit_all(clone, env, "bump")
    result = ct_lint(clone, env, CHART_BASE="origin/main")
    assert result.returncode == 0, result.stdout


def test_the_base_is_a_branch_or_a_tag(repo: Path, env: dict[str, str]) -> None:
    change_template(repo)
    commit_all(repo, env, "change")
    git(repo, env, "tag", "changed")
    # Against a base that already has the change, nothing changed.
    result = ct_lint(repo, env, CHART_BASE="changed")
    assert result.returncode == 0 and "No chart changes detected." in result.stdout, result.stdout
    commit = git(repo, env, "rev-parse", "main")
    result = ct_lint(repo, env, CHART_BASE=commit)
    assert result.returncode == 2 and "is not a branch or a tag here" in result.stdout


def test_ct_takes_versions_that_check_chart_version_refuses(
    repo: Path, env: dict[str, str]
) -> None:
    """Why `make chart-test` keeps scripts/check-chart-version.sh beside ct: ct's version check
    (Masterminds semver v1) reads `1.1` and `v1.1.0` as 1.1.0, greater than 1.0.0, and neither is
    a SemVer version."""
    shutil.copy2(REPO / "scripts" / "check-chart-version.sh", repo / "scripts")
    change_template(repo)
    for version in ("1.1", "v1.1.0"):
        set_version(repo, version)
        commit_all(repo, env, f"version {version}")
        result = ct_lint(repo, env)
        assert f"New chart version: {version}\nChart version ok." in result.stdout, result.stdout
        ours = subprocess.run(
            ["bash", "scripts/check-chart-version.sh"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert ours.returncode == 1 and f'version "{version}" is not SemVer' in ours.stderr


def test_the_maintainer_check_wants_maintainers_then_asks_the_git_host(
    repo: Path, env: dict[str, str]
) -> None:
    """What ct.yaml turns off (CT_VALIDATE_MAINTAINERS=true turns it on): a chart without
    maintainers is refused; with them, ct reads the URL of --remote (`git ls-remote --get-url`)
    to ask its host for each name, and a local base branch (--remote refs/heads) has none, nor
    does a remote on a path."""
    change_template(repo)
    set_version(repo, "1.1.0")
    commit_all(repo, env, "change and bump")
    result = ct_lint(repo, env, CT_VALIDATE_MAINTAINERS="true")
    assert result.returncode == 1 and "chart doesn't have maintainers" in result.stdout, (
        result.stdout
    )
    set_version(repo, "1.1.0", maintainers="maintainers:\n  - name: pantry-chef\n")
    commit_all(repo, env, "a maintainer")
    result = ct_lint(repo, env, CT_VALIDATE_MAINTAINERS="true")
    assert result.returncode == 1, result.stdout
    assert 'could not parse git repository domain for "refs/heads"' in result.stdout, result.stdout
    assert ct_lint(repo, env).returncode == 0, "off as ct.yaml has it"


def test_every_chart_of_this_repository_passes_ct_lint(tmp_path: Path) -> None:
    """`ct lint --all`: ct's YAML rules, its Chart.yaml schema and helm lint hold for every chart
    as it is, changed or not (--all turns ct's version check off; the changed charts' versions are
    make chart-lint's)."""
    result = ct_lint(REPO, env_for(tmp_path), "--all")
    assert result.returncode == 0, result.stdout
    for chart in ("helm/ci", "helm/gcp", "helm/pantry-chef", "helm/pantry-lib"):
        assert f'path: "{chart}")\n' in result.stdout, chart
    assert "All charts linted successfully" in result.stdout


def test_chart_testing_is_pinned() -> None:
    """ct at an exact module version, the build reporting it, and the yamale of that version's
    image."""
    install = (REPO / "scripts" / "install-tools.sh").read_text()
    pinned = re.search(r'^CHART_TESTING_VERSION="(v\d+\.\d+\.\d+)"$', install, re.M)
    assert pinned, "chart-testing at an exact version"
    version = subprocess.run(
        [str(TOOLS_BIN / "ct"), "version"], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(rf"^Version:\s+{re.escape(pinned.group(1))}$", version, re.M), version
    assert pinned.group(1) == "v3.14.0", "on a new ct, check yamale's version in its Dockerfile"
    assert '"yamale==6.0.0"' in (REPO / "pyproject.toml").read_text()
