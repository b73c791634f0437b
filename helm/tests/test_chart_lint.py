"""`helm lint --strict` of every chart with every set of values, and the values schema."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from chart_render import (
    CHART,
    LIBRARY,
    REPO,
    SCENARIOS,
    _dependencies_built,
    render_error,
    run_helm,
)


def test_library_chart_lints() -> None:
    run_helm("lint", "--strict", str(LIBRARY))


def test_ci_chart_lints() -> None:
    """helm/ci, the CI cluster's test-only servers and gateway (scripts/dev.sh installs it)."""
    run_helm(
        "lint",
        "--strict",
        str(REPO / "helm" / "ci"),
        "--set",
        "servers.enabled=true",
        "--set",
        "gateway.enabled=true",
        "--set-string",
        "image.tag=0123456",
    )


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_chart_lints(name: str) -> None:
    _dependencies_built()
    run_helm("lint", "--strict", str(CHART), *SCENARIOS[name])


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("api.replicas=2", "additional properties 'replicas' not allowed"),
        ("image.tag=latest", "/image/tag"),
        ("recipeEngine.image.tag=latest", "/recipeEngine/image/tag"),
        ("environment=prod", "/environment"),
        ("istio.mtls.mode=strict", "/istio/mtls/mode"),
    ],
)
def test_values_schema_refuses(setting: str, complaint: str) -> None:
    """values.schema.json stops a typo'd key, an unknown value and the tag `latest`."""
    assert complaint in render_error("--set", setting)


def _leaves(node: object, prefix: str = "") -> list[str]:
    if isinstance(node, dict) and node:
        out: list[str] = []
        for key, value in node.items():
            out += _leaves(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    return [prefix]


def test_every_value_is_documented() -> None:
    """STYLE.md: a `## @param` line for every value (a free-form map is documented as a whole),
    and no `## @param` for a value that does not exist."""
    text = (CHART / "values.yaml").read_text()
    documented = set(re.findall(r"^\s*## @param (\S+)", text, re.MULTILINE))
    values = yaml.safe_load(text)
    leaves = _leaves(values)
    undocumented = [
        leaf
        for leaf in leaves
        if not any(leaf == d or leaf.startswith(d + ".") for d in documented)
    ]
    assert not undocumented, f"values without a ## @param: {undocumented}"
    stale = [
        d for d in documented if not any(leaf == d or leaf.startswith(d + ".") for leaf in leaves)
    ]
    assert not stale, f"## @param for values that do not exist: {stale}"


@pytest.mark.parametrize("name", ["default", "local"])
def test_notes(name: str, tmp_path: Path) -> None:
    """NOTES.txt renders (helm template leaves it out: render a copy under another name)."""
    _dependencies_built()
    copy = tmp_path / "pantry-chef"
    shutil.copytree(CHART, copy)
    notes_file = copy / "templates" / "NOTES.txt"
    text = notes_file.read_text()
    notes_file.unlink()
    (copy / "templates" / "_notes.tpl").write_text(
        '{{- define "notes-check" -}}' + text + "{{- end -}}"
    )
    (copy / "templates" / "notes-check.yaml").write_text(
        'notes: {{ include "notes-check" . | toJson }}\n'
    )
    rendered = run_helm(
        "template",
        "pantry-chef",
        str(copy),
        "-n",
        "pantry",
        *SCENARIOS[name],
        "--show-only",
        "templates/notes-check.yaml",
    )
    notes = yaml.safe_load(rendered)["notes"]
    assert "helm test pantry-chef -n pantry" in notes
    assert "pantry-chef-secrets" in notes
    if name == "local":
        assert "curl http://localhost:8080/api/v1/health" in notes
    else:
        assert "port-forward svc/pantry-chef-api 8000:8000" in notes
