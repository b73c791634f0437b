"""scripts/check-chart-version.sh (make chart-version): a chart that changed since the base ref
needs a greater SemVer version. Each test builds a throwaway git repository holding a copy of
the script and two charts, and runs the script there as `make chart-test` does."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from chart_render import REPO

SCRIPT = REPO / "scripts" / "check-chart-version.sh"

APP_CHART = """\
apiVersion: v2
name: app
version: {version}
appVersion: "0123456789ab"
dependencies:
  - name: lib
    version: 0.1.0
    repository: file://../lib
"""
LIB_CHART = "apiVersion: v2\nname: lib\ntype: library\nversion: 0.1.0\n"


def git_env() -> dict[str, str]:
    """Git without the user's or the system's configuration, with a fixed identity."""
    env = dict(os.environ)
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Chart Test",
        GIT_AUTHOR_EMAIL="chart-test@example.invalid",
        GIT_COMMITTER_NAME="Chart Test",
        GIT_COMMITTER_EMAIL="chart-test@example.invalid",
    )
    env.pop("CHART_BASE", None)
    return env


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args],
        env=git_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def check(repo: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(repo / "scripts" / "check-chart-version.sh")],
        env={**git_env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main: the script, helm/app at 1.0.0 and helm/lib at 0.1.0; then a branch `change`."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(SCRIPT, repo / "scripts" / SCRIPT.name)
    (repo / "helm" / "app" / "templates").mkdir(parents=True)
    (repo / "helm" / "app" / "Chart.yaml").write_text(APP_CHART.format(version="1.0.0"))
    (repo / "helm" / "app" / "templates" / "cm.yaml").write_text("kind: ConfigMap\n")
    (repo / "helm" / "lib").mkdir()
    (repo / "helm" / "lib" / "Chart.yaml").write_text(LIB_CHART)
    (repo / "helm" / "values").mkdir()
    (repo / "helm" / "values" / "local.yaml").write_text("replicas: 1\n")
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "charts")
    git(repo, "checkout", "-q", "-b", "change")
    return repo


def change_template(repo: Path) -> None:
    (repo / "helm" / "app" / "templates" / "cm.yaml").write_text("kind: ConfigMap\ndata: {}\n")


def set_version(repo: Path, version: str) -> None:
    (repo / "helm" / "app" / "Chart.yaml").write_text(APP_CHART.format(version=version))


def test_on_the_base_itself_nothing_changed(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    result = check(repo)
    assert result.returncode == 0, result.stderr
    assert "no chart under helm/ changed since main" in result.stdout


def test_a_change_without_a_bump_is_refused(repo: Path) -> None:
    change_template(repo)
    commit_all(repo, "change the app's template only")
    result = check(repo)
    assert result.returncode == 1, result.stdout
    assert (
        "helm/app changed since main" in result.stderr
        and "its version 1.0.0 is not greater than 1.0.0 there" in result.stderr
        and "bump version in helm/app/Chart.yaml" in result.stderr
    ), result.stderr
    assert "helm/lib" not in result.stdout + result.stderr


def test_a_lower_version_is_refused_naming_both(repo: Path) -> None:
    change_template(repo)
    set_version(repo, "0.9.0")
    commit_all(repo, "a lower version")
    result = check(repo)
    assert result.returncode == 1
    assert "helm/app" in result.stderr and "0.9.0 is not greater than 1.0.0" in result.stderr


def test_a_change_with_a_bump_passes(repo: Path) -> None:
    change_template(repo)
    set_version(repo, "1.1.0")
    commit_all(repo, "change and bump")
    result = check(repo)
    assert result.returncode == 0, result.stderr
    assert "ok: helm/app 1.0.0 -> 1.1.0" in result.stdout
    assert "helm/lib" not in result.stdout


@pytest.mark.parametrize("version", ["1.1", "v1.1.0", "1.01.0", "1.1.0-", "latest"])
def test_an_invalid_version_is_refused(repo: Path, version: str) -> None:
    change_template(repo)
    set_version(repo, version)
    commit_all(repo, "not SemVer")
    result = check(repo)
    assert result.returncode == 1
    assert f'helm/app: version "{version}" is not SemVer' in result.stderr, result.stderr


def test_only_committed_changes_count(repo: Path) -> None:
    change_template(repo)
    result = check(repo)
    assert result.returncode == 0, result.stderr
    commit_all(repo, "now committed")
    assert check(repo).returncode == 1


def test_files_beside_the_charts_are_not_a_chart_change(repo: Path) -> None:
    (repo / "helm" / "values" / "local.yaml").write_text("replicas: 2\n")
    commit_all(repo, "values of an environment")
    result = check(repo)
    assert result.returncode == 0, result.stderr
    assert "no chart under helm/ changed" in result.stdout


def test_a_new_chart_needs_a_valid_version(repo: Path) -> None:
    (repo / "helm" / "extra").mkdir()
    (repo / "helm" / "extra" / "Chart.yaml").write_text(
        "apiVersion: v2\nname: extra\nversion: 0.1\n"
    )
    commit_all(repo, "a new chart")
    assert 'helm/extra: version "0.1" is not SemVer' in check(repo).stderr
    (repo / "helm" / "extra" / "Chart.yaml").write_text(
        "apiVersion: v2\nname: extra\nversion: '0.1.0' # quoted\n"
    )
    commit_all(repo, "a valid version")
    result = check(repo)
    assert result.returncode == 0, result.stderr
    assert "ok: helm/extra 0.1.0 (new since main)" in result.stdout


def test_the_base_is_a_variable(repo: Path) -> None:
    change_template(repo)
    commit_all(repo, "change")
    git(repo, "tag", "changed")
    # Against a base that already has the change, nothing changed.
    assert check(repo, CHART_BASE="changed").returncode == 0
    result = check(repo, CHART_BASE="no-such-ref")
    assert result.returncode == 2 and "CHART_BASE=no-such-ref is not a commit" in result.stderr


def test_a_ci_checkout_compares_with_origin_main(repo: Path, tmp_path: Path) -> None:
    change_template(repo)
    commit_all(repo, "change")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--branch", "change", str(repo), str(clone))
    assert git(clone, "branch", "--list", "main") == ""
    result = check(clone)
    assert result.returncode == 1 and "changed since origin/main" in result.stderr


@pytest.mark.parametrize(
    ("new", "old", "greater"),
    [
        ("0.1.1", "0.1.0", True),
        ("0.1.0", "0.1.0", False),
        ("0.2.0", "0.10.0", False),
        ("0.10.0", "0.9.9", True),
        ("1.0.0", "1.0.0-rc.1", True),
        ("1.0.0-rc.1", "1.0.0", False),
        ("1.0.0-rc.10", "1.0.0-rc.9", True),
        ("1.0.0-alpha.1", "1.0.0-alpha", True),
        ("1.0.0-alpha.beta", "1.0.0-alpha.1", True),
        ("1.0.0-2", "1.0.0-10", False),
        ("1.0.0+build.2", "1.0.0+build.1", False),
        ("12345678901234567890.0.0", "9.0.0", True),
    ],
)
def test_semver_precedence(new: str, old: str, greater: bool) -> None:
    result = subprocess.run(
        ["bash", str(SCRIPT), "greater", new, old], capture_output=True, text=True, timeout=30
    )
    assert (result.returncode == 0) is greater, result.stderr
