"""Observability in the app chart: the New Relic agent's settings (on only when asked), the
Prometheus scrape annotations, and the PrometheusRule: behind its flag, complete (for, severity,
summary, runbook), its PromQL parsed (promql-parser, and promtool where `make tools` built it),
and the same alerts as the New Relic conditions of observability/alerts.yaml."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from chart_render import NAMESPACE, RELEASE, REPO, SCENARIOS, Obj, containers, of_kind, one, render

SERVICES = {"api": 8000, "recipe-engine": 8002, "realtime": 8001}
ALERTS_FILE = REPO / "observability" / "alerts.yaml"
DOCS = REPO / "docs" / "observability.md"
OPERATORS = {
    "ABOVE": ">",
    "ABOVE_OR_EQUALS": ">=",
    "BELOW": "<",
    "BELOW_OR_EQUALS": "<=",
    "EQUALS": "==",
    "NOT_EQUALS": "!=",
}

NEW_RELIC_ON = (
    "--set",
    "newRelic.enabled=true,newRelic.appNamePrefix=shop,"
    "newRelic.licenseKeySecret.name=nr-key,newRelic.licenseKeySecret.key=lk",
)


def container_env(objects: list[Obj], workload: Obj) -> dict[str, Any]:
    """The first container's environment: ConfigMap values (envFrom) and `env` entries."""
    container = workload["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        env.update(one(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    for entry in container.get("env", []):
        env[entry["name"]] = entry.get("value", entry.get("valueFrom"))
    return env


# --- New Relic ------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["default", "local"])
def test_new_relic_is_off_unless_asked(scenario: str) -> None:
    """Off, the chart sets none of the agent's settings: without a key the agent stays off."""
    objects = render(*SCENARIOS[scenario])
    for config_map in of_kind(objects, "ConfigMap"):
        assert not [k for k in config_map["data"] if k.startswith("NEW_RELIC")]
    for where, container in containers(objects):
        names = [e["name"] for e in container.get("env", [])]
        assert not [n for n in names if n.startswith("NEW_RELIC")], where


@pytest.mark.parametrize(
    ("args", "prefix", "secret", "environment"),
    [
        (NEW_RELIC_ON, "shop", {"name": "nr-key", "key": "lk"}, "production"),
        (
            (*SCENARIOS["production"],),
            "pantry",
            {"name": "newrelic-license", "key": "license-key"},
            "production",
        ),
        (
            (*SCENARIOS["local"], "--set", "newRelic.enabled=true"),
            "pantry-local",
            {"name": "newrelic-license", "key": "license-key"},
            "development",
        ),
    ],
    ids=["set", "production", "local-with-make-dev-key"],
)
def test_new_relic_on_sets_the_agent_of_every_service(
    args: tuple[str, ...], prefix: str, secret: dict[str, str], environment: str
) -> None:
    objects = render(*args)
    for service in SERVICES:
        deployment = one(objects, "Deployment", f"{RELEASE}-{service}")
        env = container_env(objects, deployment)
        assert env["NEW_RELIC_LICENSE_KEY"] == {"secretKeyRef": secret}, "required, never optional"
        assert env["NEW_RELIC_APP_NAME"] == f"{prefix}-{service}"
        assert env["NEW_RELIC_LABELS"] == f"environment:{environment}"
        assert env["NEW_RELIC_DISTRIBUTED_TRACING_ENABLED"] == "true"
        # The cluster's log shipper forwards stdout: the agent must not send the lines again.
        assert env["NEW_RELIC_APPLICATION_LOGGING_FORWARDING_ENABLED"] == "false"
    for config_map in of_kind(objects, "ConfigMap"):
        assert "NEW_RELIC_LICENSE_KEY" not in config_map["data"], "the key is never a value"
    for job in of_kind(objects, "Job"):
        assert not [k for k in container_env(objects, job) if k.startswith("NEW_RELIC")]


def test_make_dev_turns_new_relic_on_only_with_a_key() -> None:
    local = yaml.safe_load((REPO / "helm" / "values" / "local.yaml").read_text())
    assert not local.get("newRelic", {}).get("enabled", False)
    dev = (REPO / "scripts" / "dev.sh").read_text()
    assert '--set "newRelic.enabled=$newrelic_enabled"' in dev
    assert '[ -n "${NEW_RELIC_LICENSE_KEY:-}" ]' in dev
    # The key reaches the cluster through a file, never a command line or a values file.
    assert "--from-file=license-key=" in dev
    assert "--from-literal=license-key" not in dev
    assert "licenseKey=" not in dev


# --- Prometheus scrape annotations ----------------------------------------------------------------


def test_pods_carry_the_prometheus_scrape_annotations(objects: list[Obj]) -> None:
    for service, port in SERVICES.items():
        deployment = one(objects, "Deployment", f"{RELEASE}-{service}")
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(port)
        assert annotations["prometheus.io/path"] == "/metrics"


@pytest.mark.parametrize("scenario", ["local", "production"])
def test_the_network_policies_let_new_relic_scrape(scenario: str) -> None:
    newrelic = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "newrelic"}}}
    for policy in of_kind(render(*SCENARIOS[scenario]), "NetworkPolicy"):
        if "ingress" not in policy["spec"]:
            continue  # <release>-no-ingress: the pods that serve nothing (no metrics either)
        peers = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
        assert newrelic in peers, policy["metadata"]["name"]


# --- the PrometheusRule ---------------------------------------------------------------------------


def rule_with_flag(*more: str) -> Obj:
    objects = render("--set", "prometheusRule.enabled=true", *more)
    (rule,) = of_kind(objects, "PrometheusRule")
    return rule


def alert_rules(rule: Obj) -> list[dict[str, Any]]:
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def conditions() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS_FILE.read_text())
    found: list[dict[str, Any]] = document["conditions"]
    return found


@pytest.mark.parametrize("scenario", ["default", "local", "production"])
def test_the_rule_renders_only_behind_its_flag(scenario: str) -> None:
    assert not of_kind(render(*SCENARIOS[scenario]), "PrometheusRule")
    assert len(of_kind(render(*SCENARIOS["everything"]), "PrometheusRule")) == 1


def test_the_rule_carries_the_selector_labels() -> None:
    rule = rule_with_flag("--set", "prometheusRule.labels.release=kube-prometheus-stack")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["metadata"]["namespace"] == NAMESPACE


def _doc_anchors() -> set[str]:
    headings = re.findall(r"^#{2,4} (.+)$", DOCS.read_text(), re.MULTILINE)
    return {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_alert_has_for_severity_summary_and_runbook() -> None:
    anchors = _doc_anchors()
    rules = alert_rules(rule_with_flag())
    assert len(rules) == 8
    for rule in rules:
        where = rule.get("alert", rule)
        assert re.fullmatch(r"Pantry[A-Za-z]+", rule["alert"]), where
        assert re.fullmatch(r"\d+m", rule["for"]), where
        assert rule["labels"]["severity"] in ("critical", "warning"), where
        assert rule["labels"]["service"] in SERVICES, where
        assert rule["annotations"]["summary"].strip(), where
        runbook = rule["annotations"]["runbook_url"]
        assert runbook.startswith("docs/observability.md#"), where
        assert runbook.split("#", 1)[1] in anchors, f"{where}: no section {runbook} in the docs"


def test_the_runbook_url_is_configurable() -> None:
    rule = rule_with_flag("--set", "prometheusRule.runbookUrl=https://docs.example/obs")
    for alert in alert_rules(rule):
        assert alert["annotations"]["runbook_url"].startswith("https://docs.example/obs#")


def _comparison(expr: str) -> Any:
    """The top comparison of an alert's expression (the left side of an `or ... absent()`)."""
    node: Any = promql_parser.parse(expr)
    while True:
        if isinstance(node, promql_parser.ParenExpr):
            node = node.expr
        elif isinstance(node, promql_parser.BinaryExpr) and str(node.op) == "or":
            node = node.lhs
        else:
            return node


def _seconds(duration: str) -> int:
    match = re.fullmatch(r"(\d+)([smh])", duration)
    assert match, duration
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]


def test_the_rules_are_the_new_relic_conditions() -> None:
    """Same alerts, same thresholds, operators, durations, severities and runbooks."""
    rules = {r["alert"]: r for r in alert_rules(rule_with_flag())}
    wanted = conditions()
    assert sorted(rules) == sorted(c["prometheusAlert"] for c in wanted)
    for condition in wanted:
        rule = rules[condition["prometheusAlert"]]
        term = condition["term"]
        where = condition["key"]
        assert rule["labels"]["severity"] == term["priority"].lower(), where
        assert rule["labels"]["service"] == condition["service"], where
        assert _seconds(rule["for"]) == term["thresholdDuration"], where
        assert rule["annotations"]["runbook_url"].endswith(f"#{condition['key']}"), where
        comparison = _comparison(rule["expr"])
        assert isinstance(comparison, promql_parser.BinaryExpr), where
        assert str(comparison.op) == OPERATORS[term["operator"]], where
        assert isinstance(comparison.rhs, promql_parser.NumberLiteral), where
        assert comparison.rhs.val == term["threshold"], where


def _selectors(node: Any) -> list[Any]:
    """Every vector selector of an expression."""
    found: list[Any] = []
    if isinstance(node, promql_parser.VectorSelector):
        found.append(node)
    for name in ("expr", "lhs", "rhs", "param", "vector_selector"):
        child = getattr(node, name, None)
        if child is not None and not isinstance(child, str | int | float):
            found += _selectors(child)
    for child in getattr(node, "args", None) or []:
        found += _selectors(child)
    return found


def _exposed_metrics() -> set[str]:
    names: set[str] = set()
    for folder in ("libs", "services"):
        for path in (REPO / folder).rglob("*.py"):
            names |= set(re.findall(r'"(pantry_[a-z0-9_]+)"', path.read_text()))
    return names


def test_the_promql_parses_and_selects_exposed_metrics_of_the_release() -> None:
    exposed = _exposed_metrics()
    for rule in alert_rules(rule_with_flag()):
        try:
            tree = promql_parser.parse(rule["expr"])
        except ValueError as error:
            pytest.fail(f"{rule['alert']}: the PromQL does not parse: {error}\n{rule['expr']}")
        selectors = _selectors(tree)
        assert selectors, rule["alert"]
        for selector in selectors:
            metric = re.sub(r"_(bucket|count|sum)$", "", selector.name)
            assert metric in exposed, f"{rule['alert']}: no service exposes {metric}"
            matchers = {m.name: m.value for m in selector.matchers.matchers}
            assert matchers.get("namespace") == NAMESPACE, f"{rule['alert']}: {selector}"


def test_the_promql_check_is_not_vacuous() -> None:
    with pytest.raises(ValueError):
        promql_parser.parse("sum(rate(pantry_http_request_duration_seconds_count[5m])")
    with pytest.raises(ValueError):
        promql_parser.parse('pantry_engine_queue_depth{queue="x"} >> 0')


def promtool() -> str | None:
    for candidate in (os.environ.get("PROMTOOL"), str(REPO / ".tools" / "bin" / "promtool")):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("promtool")


def test_promtool_checks_the_rules(tmp_path: Path) -> None:
    """Prometheus' own check: the PromQL, the durations and the annotation templates."""
    binary = promtool()
    if not binary:
        pytest.fail("promtool is missing: `make tools` (scripts/install-tools.sh) builds it")
    rule = rule_with_flag()
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    result = subprocess.run(
        [binary, "check", "rules", str(rules_file)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout + result.stderr
    broken = tmp_path / "broken.yaml"
    bad = dict(alert_rules(rule)[0], expr="sum(rate(x[5m])")
    broken.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [bad]}]}))
    result = subprocess.run(
        [binary, "check", "rules", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
