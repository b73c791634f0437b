"""The misconfiguration scan (make scan, scripts/scan.sh): pinned, wired into make chart-test,
and every check it skips skipped for a reason written down (.checkov.yaml, docs/security.md)."""

from __future__ import annotations

import re

import yaml
from chart_render import REPO

CHECKOV_CONFIG = REPO / ".checkov.yaml"
REQUIREMENTS = REPO / "scripts" / "checkov-requirements.txt"
SECURITY_DOC = REPO / "docs" / "security.md"


def test_checkov_is_pinned_with_hashes() -> None:
    text = REQUIREMENTS.read_text()
    assert re.search(r"^checkov==\d+\.\d+\.\d+ \\$", text, re.MULTILINE), "checkov==X.Y.Z"
    requirements = re.findall(r"^([A-Za-z0-9_.-]+)(==|>=|<=|~=|>|<|@)", text, re.MULTILINE)
    assert requirements
    for name, operator in requirements:
        assert operator == "==", f"{name} is not pinned to one version"
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    for entry in re.split(r"\n(?=[A-Za-z0-9])", body.strip()):
        assert "--hash=sha256:" in entry, entry.splitlines()[0]
    # The version the docs and the regeneration command name.
    (version,) = re.findall(r"^checkov==(\S+) ", text, re.MULTILINE)
    assert f"echo checkov=={version} |" in text
    assert f"Checkov {version}" in SECURITY_DOC.read_text()


def test_make_chart_test_runs_the_scan() -> None:
    makefile = (REPO / "Makefile").read_text()
    (prerequisites,) = re.findall(r"^chart-test:([^#\n]*)", makefile, re.MULTILINE)
    assert "scan" in prerequisites.split()
    assert re.search(r"^scan:.*\n\t@bash scripts/scan\.sh$", makefile, re.MULTILINE)


def test_the_scan_stays_offline() -> None:
    script = (REPO / "scripts" / "scan.sh").read_text()
    assert "unset BC_API_KEY PRISMA_API_URL BC_API_URL" in script
    assert "export CKV_SKIP_PACKAGE_UPDATE_CHECK=true" in script
    assert "--bc-api-key" not in script
    config = yaml.safe_load(CHECKOV_CONFIG.read_text())
    assert config["skip-download"] is True
    assert sorted(config["framework"]) == ["dockerfile", "kubernetes"]
    assert not {"soft-fail", "soft-fail-on", "hard-fail-on", "bc-api-key"} & set(config)


def skipped_with_reasons() -> dict[str, str]:
    """Each skipped check id of .checkov.yaml and the comment above it (or above its group)."""
    lines = CHECKOV_CONFIG.read_text().splitlines()
    start = lines.index("skip-check:")
    reasons: dict[str, str] = {}
    comment: list[str] = []
    previous_was_id = False
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if stripped.startswith("#"):
            if previous_was_id:
                comment = []
            comment.append(stripped.lstrip("# "))
            previous_was_id = False
        elif stripped.startswith("- "):
            reasons[stripped[2:]] = " ".join(comment)
            previous_was_id = True
        elif stripped:
            break
    return reasons


def test_every_skip_has_a_reason_here_and_in_the_docs() -> None:
    reasons = skipped_with_reasons()
    config = yaml.safe_load(CHECKOV_CONFIG.read_text())
    assert sorted(reasons) == sorted(config["skip-check"])
    for check, reason in reasons.items():
        assert re.fullmatch(r"CKV2?_(K8S|DOCKER)_\d+", check), check
        assert len(reason) > 40, f"{check}: say why it is skipped"
    documented: set[str] = set()
    for row in re.findall(r"^\| (`CKV[^|]+) \|", SECURITY_DOC.read_text(), re.MULTILINE):
        documented |= set(re.findall(r"`(CKV2?_\w+)`", row))
    assert documented == set(reasons), "docs/security.md's table of skipped checks"
