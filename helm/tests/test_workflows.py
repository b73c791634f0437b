"""The repository's GitHub Actions workflows (.github/workflows): every action pinned by commit,
least-privilege permissions, and every `run:` step one of the make targets that .ci/run runs, so
that CI there cannot drift from what is tested here. `make workflow-lint` (actionlint, with
shellcheck on the run: blocks) checks the rest."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import REPO

WORKFLOWS = REPO / ".github" / "workflows"
PR = WORKFLOWS / "pr.yml"
RELEASE = WORKFLOWS / "release.yml"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def load(path: Path) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(path.read_text())
    return loaded


def ci_run_targets() -> set[str]:
    """The make targets .ci/run runs."""
    targets: set[str] = set()
    for line in (REPO / ".ci" / "run").read_text().splitlines():
        words = line.split()
        if words[:1] == ["make"]:
            targets.update(w for w in words[1:] if "=" not in w and not w.startswith("-"))
    return targets


def steps(workflow: dict[Any, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in workflow["jobs"].items() for step in job["steps"]]


def make_targets(command: str) -> list[str]:
    """The targets of the one make command a run: step is (after sudo/env, if any)."""
    words = shlex.split(command)
    assert "make" in words, f"not a make command: {command}"
    assert "&&" not in command and ";" not in command and "\n" not in command.strip(), command
    prefix = words[: words.index("make")]
    assert all(w in ("sudo", "--preserve-env", "env") or "=" in w for w in prefix), command
    return [w for w in words[words.index("make") + 1 :] if "=" not in w and not w.startswith("-")]


@pytest.mark.parametrize("path", [PR, RELEASE], ids=lambda p: p.name)
def test_actions_are_pinned_by_commit(path: Path) -> None:
    uses = [
        line.split("uses:", 1)[1].strip()
        for line in path.read_text().splitlines()
        if re.match(r"^\s*(- )?uses:", line)
    ]
    assert uses
    unpinned = [u for u in uses if not PINNED.match(u)]
    assert not unpinned, f"pin by full commit SHA with a # vX.Y.Z comment: {unpinned}"
    # One version per action across both files.
    versions: dict[str, set[str]] = {}
    for path_ in (PR, RELEASE):
        for line in path_.read_text().splitlines():
            match = re.search(r"uses: ([\w./-]+)@([0-9a-f]{40})", line)
            if match:
                versions.setdefault(match.group(1), set()).add(match.group(2))
    assert all(len(shas) == 1 for shas in versions.values()), versions


@pytest.mark.parametrize(
    ("path", "allowed"),
    [(PR, set()), (RELEASE, {"release"})],
    ids=["pr.yml", "release.yml"],
)
def test_every_run_step_is_a_make_target_that_ci_runs(path: Path, allowed: set[str]) -> None:
    targets = ci_run_targets()
    assert {"chart-test", "test", "lint", "typecheck", "check-packages", "cluster-test"} <= targets
    runs = [(job, step["run"]) for job, step in steps(load(path)) if "run" in step]
    assert runs
    for job, command in runs:
        got = make_targets(command)
        assert got, f"{job}: {command}"
        assert set(got) <= targets | allowed, f"{job}: {command}: not a target .ci/run runs"


def test_pull_requests_run_every_phase_of_ci() -> None:
    workflow = load(PR)
    assert list(workflow[True]) == ["pull_request"]  # yaml reads the key `on` as True
    commands = " ".join(s["run"] for _, s in steps(workflow) if "run" in s)
    for target in ("lint", "typecheck", "test", "check-packages", "chart-test", "cluster-test"):
        assert re.search(rf"\bmake (\S+ )*{target}\b", commands), target
    test = workflow["jobs"]["test"]
    assert set(test["services"]) == {"postgres", "redis", "rabbitmq"}
    assert set(test["strategy"]["matrix"]["tests"]) == {
        "tests",
        "libs/pantry_common/tests",
        "observability/tests",
    }
    pyproject = (REPO / "pyproject.toml").read_text()
    for folder in test["strategy"]["matrix"]["tests"]:
        assert f'"{folder}"' in pyproject, f"{folder} is not in pytest's testpaths"
    assert set(workflow["jobs"]["packages"]["services"]) == {"postgres", "redis", "rabbitmq"}
    charts = workflow["jobs"]["charts"]
    checkout = charts["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0, "the version check needs the base branch"
    assert charts["env"]["CHART_BASE"] == "origin/${{ github.base_ref }}"


def test_permissions_are_least_privilege() -> None:
    for path in (PR, RELEASE):
        workflow = load(path)
        assert workflow["permissions"] == {"contents": "read"}, path.name
    assert all("permissions" not in job for job in load(PR)["jobs"].values())
    jobs = load(RELEASE)["jobs"]
    assert "permissions" not in jobs["plan"]
    assert jobs["images"]["permissions"] == {"contents": "read", "packages": "write"}
    assert jobs["chart"]["permissions"] == {
        "contents": "read",
        "packages": "write",
        "id-token": "write",
    }


def test_release_builds_multi_arch_attested_images_and_signs() -> None:
    workflow = load(RELEASE)
    assert workflow[True] == {"push": {"tags": ["chart-v*"]}}
    assert "chart-v" in (REPO / "scripts" / "release.sh").read_text()
    images = workflow["jobs"]["images"]
    assert images["strategy"]["matrix"]["service"] == ["api", "recipe-engine", "realtime"]
    build = next(s for s in images["steps"] if s.get("uses", "").startswith("docker/build-push"))
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert build["with"]["sbom"] is True and build["with"]["provenance"] == "mode=max"
    assert build["with"]["push"] is True
    assert build["with"]["tags"].endswith(":${{ needs.plan.outputs.app-version }}")
    uses = [s.get("uses", "").split("@")[0] for s in images["steps"]]
    assert "docker/setup-buildx-action" in uses and "docker/setup-qemu-action" in uses
    chart = workflow["jobs"]["chart"]
    assert chart["needs"] == ["plan", "images"]
    assert "sigstore/cosign-installer" in [s.get("uses", "").split("@")[0] for s in chart["steps"]]
    release = next(s for s in chart["steps"] if "run" in s)
    assert "COSIGN=keyless" in release["run"] and "RELEASE_IMAGES=0" in release["run"]
    assert release["env"]["SIGNING_KEY_ASC"] == "${{ secrets.HELM_SIGNING_KEY }}"
    plan = workflow["jobs"]["plan"]
    assert "DRY_RUN=1" in next(s for s in plan["steps"] if "run" in s)["run"]
