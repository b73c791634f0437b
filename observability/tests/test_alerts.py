"""`make alerts` (observability/alerts/) and its conditions file (observability/alerts.yaml).

NerdGraph is the fake of fake_nerdgraph.py on 127.0.0.1: it parses and validates every document
against NerdGraph's schema (as documented) and keeps what it is asked to create. No network.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from observability import alerts
from observability.alerts import (
    ConfigError,
    NerdGraph,
    NerdGraphError,
    apply,
    load_plan,
    main,
    settings_from_env,
)
from observability.tests.fake_nerdgraph import ACCOUNT_ID, API_KEY, FakeNerdGraph, serve

REPO = Path(__file__).resolve().parents[2]
KEYS = {
    "search-error-rate",
    "search-latency-p99",
    "search-queue-message-age",
    "outbox-oldest-message-age",
    "dead-letter-queue-not-empty",
    "no-engine-consumers",
    "realtime-connection-drops",
    "realtime-delivery-lag",
}


@pytest.fixture
def fake() -> Iterator[FakeNerdGraph]:
    with serve() as running:
        yield running


def env_for(fake: FakeNerdGraph, **more: str) -> dict[str, str]:
    return {
        "NEW_RELIC_API_KEY": API_KEY,
        "NEW_RELIC_ACCOUNT_ID": str(ACCOUNT_ID),
        "NEW_RELIC_NERDGRAPH_URL": fake.url,
        **more,
    }


def run(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out: list[str] = []
    err: list[str] = []
    code = main(argv, env, write=out.append, error=err.append)
    return code, "".join(out), "".join(err)


def mutations(fake: FakeNerdGraph) -> list[str]:
    return [r.field for r in fake.requests if r.operation == "mutation"]


# --- the file -------------------------------------------------------------------------------------


def test_the_file_names_every_critical_path_once() -> None:
    plan = load_plan()
    assert plan.policy_name == "Pantry Chef"
    assert {c.key for c in plan.conditions} == KEYS
    for condition in plan.conditions:
        # The key is the runbook's anchor: GitHub's slug of the condition's heading.
        assert condition.key == re.sub(r"[^a-z0-9 -]", "", condition.name.lower()).replace(" ", "-")
        assert condition.prometheus_alert.startswith("Pantry")
        assert "${" not in condition.nrql


def test_every_runbook_anchor_is_a_heading_of_the_docs() -> None:
    doc = (REPO / "docs" / "observability.md").read_text()
    slugs = {
        re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#{2,4} (.+)$", doc, re.MULTILINE)
    }
    missing = sorted(KEYS - slugs)
    assert not missing, f"docs/observability.md has no heading for {missing}"


def _source_metric_names() -> set[str]:
    names: set[str] = set()
    for folder in ("libs", "services"):
        for path in (REPO / folder).rglob("*.py"):
            names |= set(re.findall(r'"(pantry_[a-z0-9_]+)"', path.read_text()))
    return names


def test_the_metrics_named_in_the_nrql_are_the_ones_the_services_expose() -> None:
    exposed = _source_metric_names()
    for condition in load_plan().conditions:
        for metric in re.findall(r"\bpantry_[a-z0-9_]+", condition.nrql):
            base = re.sub(r"_bucket$", "", metric)
            assert base in exposed, f"{condition.key}: no service exposes {base}"


def test_placeholders_are_filled_in() -> None:
    plan = load_plan(app_prefix="pantry-local", cluster="pantry-local")
    queries = {c.key: c.nrql for c in plan.conditions}
    assert "appName = 'pantry-local-api'" in queries["search-error-rate"]
    assert "clusterName = 'pantry-local'" in queries["no-engine-consumers"]
    defaults = {c.key: c.nrql for c in load_plan().conditions}
    assert "appName = 'pantry-api'" in defaults["search-latency-p99"]
    assert "clusterName = 'pantry-production'" in defaults["realtime-delivery-lag"]


def test_a_name_that_could_break_out_of_the_nrql_string_is_refused() -> None:
    with pytest.raises(ConfigError, match="cluster"):
        load_plan(cluster="x' OR true OR clusterName = 'y")


def _write(tmp_path: Path, change: Any) -> Path:
    document = yaml.safe_load(alerts.ALERTS_FILE.read_text())
    change(document)
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: d["conditions"][0].update(nrql="SELECT 1 FROM X WHERE a = '${app}'"), "${app}"),
        (lambda d: d["conditions"][0]["term"].update(operator="GREATER"), "operator"),
        (lambda d: d["conditions"][0]["term"].update(thresholdDuration=90), "multiple"),
        (lambda d: d["conditions"][0].update(colour="red"), "unknown colour"),
        (lambda d: d["conditions"][1].update(name=d["conditions"][0]["name"]), "share a name"),
        (lambda d: d["conditions"][0].pop("term"), "missing term"),
        (lambda d: d["policy"].update(incidentPreference="SOMETIMES"), "incidentPreference"),
        (lambda d: d["conditions"][0].update(key="Search Error"), "lower-case"),
    ],
)
def test_a_wrong_file_is_refused_before_anything_is_sent(
    tmp_path: Path, change: Any, complaint: str
) -> None:
    path = _write(tmp_path, change)
    with pytest.raises(ConfigError, match=re.escape(complaint)):
        load_plan(path)
    code, _, err = run(["--check", "--file", str(path)], {})
    assert code == 2 and complaint in err


def test_check_and_dry_run_send_nothing() -> None:
    code, out, _ = run(["--check"], {})
    assert code == 0 and "8 conditions, valid" in out
    code, out, _ = run(["--dry-run"], {"PANTRY_RUNBOOK_URL": "https://docs.example/observability"})
    assert code == 0
    assert '"alertsNrql' not in out and '"name": "Pantry Chef"' in out
    assert '"runbookUrl": "https://docs.example/observability#no-engine-consumers"' in out


# --- settings -------------------------------------------------------------------------------------


def test_settings_from_the_environment() -> None:
    base = {"NEW_RELIC_API_KEY": API_KEY, "NEW_RELIC_ACCOUNT_ID": "42"}
    assert settings_from_env(base).endpoint == "https://api.newrelic.com/graphql"
    eu = settings_from_env({**base, "NEW_RELIC_REGION": "EU"})
    assert eu.endpoint == "https://api.eu.newrelic.com/graphql"
    override = settings_from_env({**base, "NEW_RELIC_NERDGRAPH_URL": "http://127.0.0.1:9/graphql"})
    assert override.endpoint == "http://127.0.0.1:9/graphql" and override.account_id == 42
    assert API_KEY not in repr(override)


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"NEW_RELIC_ACCOUNT_ID": "42"}, "NEW_RELIC_API_KEY is not set"),
        ({"NEW_RELIC_API_KEY": API_KEY}, "NEW_RELIC_ACCOUNT_ID"),
        ({"NEW_RELIC_API_KEY": "0123456789abcdef0123456789abcdef01NRAL"}, "license or ingest key"),
        (
            {"NEW_RELIC_API_KEY": API_KEY, "NEW_RELIC_ACCOUNT_ID": "1", "NEW_RELIC_REGION": "jp"},
            "us or eu",
        ),
        (
            {
                "NEW_RELIC_API_KEY": API_KEY,
                "NEW_RELIC_ACCOUNT_ID": "1",
                "NEW_RELIC_NERDGRAPH_URL": "http://api.example/graphql",
            },
            "https only",
        ),
    ],
)
def test_a_missing_or_wrong_setting_is_named(env: dict[str, str], complaint: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(complaint)):
        settings_from_env(env)
    code, _, err = run([], env)
    assert code == 2 and complaint in err


# --- applying -------------------------------------------------------------------------------------


def test_first_run_creates_the_policy_and_every_condition(fake: FakeNerdGraph) -> None:
    code, out, err = run([], env_for(fake))
    assert code == 0, err
    assert "(id " in out and ": created" in out
    assert len(fake.policies) == 1
    (policy,) = fake.policies.values()
    assert policy["name"] == "Pantry Chef"
    assert policy["incidentPreference"] == "PER_CONDITION_AND_TARGET"
    assert sorted(c["name"] for c in fake.conditions.values()) == sorted(
        c.name for c in load_plan().conditions
    )
    assert {c["policyId"] for c in fake.conditions.values()} == {policy["id"]}
    assert mutations(fake) == ["alertsPolicyCreate"] + ["alertsNrqlConditionStaticCreate"] * 8


def test_every_request_carries_the_key_and_json(fake: FakeNerdGraph) -> None:
    assert run([], env_for(fake))[0] == 0
    assert fake.requests
    for request in fake.requests:
        assert request.path == "/graphql"
        assert request.headers["api-key"] == API_KEY
        assert request.headers["content-type"].startswith("application/json")
        assert request.variables["accountId"] == ACCOUNT_ID


def test_the_documents_and_variables(fake: FakeNerdGraph) -> None:
    assert run([], env_for(fake, PANTRY_RUNBOOK_URL="https://docs.example/obs"))[0] == 0
    (search,) = fake.calls("policiesSearch")
    assert search.operation == "query"
    assert search.variables["searchCriteria"] == {"name": "Pantry Chef"}
    assert "$searchCriteria: AlertsPoliciesSearchCriteriaInput" in search.document
    (create_policy,) = fake.calls("alertsPolicyCreate")
    assert create_policy.variables["policy"] == {
        "name": "Pantry Chef",
        "incidentPreference": "PER_CONDITION_AND_TARGET",
    }
    assert "$policy: AlertsPolicyInput!" in create_policy.document
    creates = fake.calls("alertsNrqlConditionStaticCreate")
    assert {r.variables["policyId"] for r in creates} == set(fake.policies)
    by_name = {r.variables["condition"]["name"]: r.variables["condition"] for r in creates}
    consumers = by_name["No engine consumers"]
    assert consumers["nrql"]["query"].startswith("SELECT max(pantry_engine_queue_consumers)")
    assert consumers["terms"] == [
        {
            "priority": "CRITICAL",
            "operator": "BELOW",
            "threshold": 1,
            "thresholdDuration": 300,
            "thresholdOccurrences": "ALL",
        }
    ]
    assert consumers["expiration"]["openViolationOnExpiration"] is True
    assert consumers["runbookUrl"] == "https://docs.example/obs#no-engine-consumers"
    assert "Runbook: docs/observability.md#no-engine-consumers" in consumers["description"]
    for request in creates:
        assert "$condition: AlertsNrqlConditionStaticInput!" in request.document
        assert request.variables["condition"]["enabled"] is True
    # What the fake's schema refused would have been a GraphQL error and a failed run.


def test_second_run_updates_and_creates_nothing(fake: FakeNerdGraph) -> None:
    assert run([], env_for(fake))[0] == 0
    first = {c["id"]: c["name"] for c in fake.conditions.values()}
    fake.requests.clear()
    code, out, err = run([], env_for(fake))
    assert code == 0, err
    assert ": found" in out and "created" not in out
    assert mutations(fake) == ["alertsNrqlConditionStaticUpdate"] * 8
    assert {c["id"]: c["name"] for c in fake.conditions.values()} == first
    assert len(fake.policies) == 1
    updates = fake.calls("alertsNrqlConditionStaticUpdate")
    assert {r.variables["id"] for r in updates} == set(first)
    for request in updates:
        assert "$condition: AlertsNrqlConditionUpdateStaticInput!" in request.document
        assert "policyId" not in request.variables


def test_the_conditions_are_found_across_pages(fake: FakeNerdGraph) -> None:
    fake.page_size = 2
    assert run([], env_for(fake))[0] == 0
    fake.requests.clear()
    assert run([], env_for(fake))[0] == 0
    pages = fake.calls("nrqlConditionsSearch")
    assert len(pages) == 4  # 8 conditions, 2 a page
    assert [r.variables["cursor"] for r in pages] == [None, "2", "4", "6"]
    assert "alertsNrqlConditionStaticCreate" not in mutations(fake)


def test_an_existing_policy_is_reused_and_its_incident_preference_set(
    fake: FakeNerdGraph,
) -> None:
    fake.add_policy("Pantry Chef (old)")  # NerdGraph's search is loose: not this one
    policy_id = fake.add_policy("Pantry Chef", "PER_POLICY")
    kept = fake.add_condition(policy_id, "Search error rate")
    fake.add_condition(policy_id, "Made by hand")
    code, out, err = run([], env_for(fake))
    assert code == 0, err
    assert f"(id {policy_id}): updated" in out
    assert fake.policies[policy_id]["incidentPreference"] == "PER_CONDITION_AND_TARGET"
    assert mutations(fake).count("alertsPolicyCreate") == 0
    assert mutations(fake).count("alertsNrqlConditionStaticUpdate") == 1
    assert mutations(fake).count("alertsNrqlConditionStaticCreate") == 7
    assert fake.conditions[kept]["input"]["name"] == "Search error rate"
    assert "not in alerts.yaml, left alone: Made by hand" in out


def test_a_baseline_condition_of_the_same_name_is_not_overwritten(fake: FakeNerdGraph) -> None:
    policy_id = fake.add_policy("Pantry Chef", "PER_CONDITION_AND_TARGET")
    fake.add_condition(policy_id, "Search latency p99", kind="BASELINE")
    code, _, err = run([], env_for(fake))
    assert code == 1
    assert "'Search latency p99'" in err and "BASELINE" in err


def test_two_policies_of_the_same_name_are_an_error(fake: FakeNerdGraph) -> None:
    fake.add_policy("Pantry Chef")
    fake.add_policy("Pantry Chef")
    code, _, err = run([], env_for(fake))
    assert code == 1 and "2 policies are named 'Pantry Chef'" in err
    assert not mutations(fake)


# --- failures -------------------------------------------------------------------------------------


def test_http_401_says_the_key_was_refused(fake: FakeNerdGraph) -> None:
    code, _, err = run([], env_for(fake, NEW_RELIC_API_KEY="NRAK-WRONGWRONGWRONGWRONGWRONG"))
    assert code == 1
    assert "looking up the policy: NerdGraph refused the API key (HTTP 401)" in err
    assert "User key (NRAK-...)" in err
    assert "WRONGWRONG" not in err  # the key is never printed
    assert len(fake.requests) == 1 and not mutations(fake)


def test_a_graphql_error_is_reported_with_its_message(fake: FakeNerdGraph) -> None:
    fake.canned = [
        (200, {"data": {"actor": {"account": {"alerts": {"policiesSearch": {
            "nextCursor": None, "policies": []}}}}}}),
        (200, {"data": None, "errors": [
            {"message": "Invalid NRQL: unknown function", "path": ["alertsPolicyCreate"]}
        ]}),
    ]  # fmt: skip
    code, _, err = run([], env_for(fake))
    assert code == 1
    assert "creating the policy: NerdGraph error: Invalid NRQL: unknown function" in err
    assert "(at alertsPolicyCreate)" in err


def test_a_wrong_account_is_a_graphql_error(fake: FakeNerdGraph) -> None:
    code, _, err = run([], env_for(fake, NEW_RELIC_ACCOUNT_ID="7"))
    assert code == 1 and "Account 7 is not accessible" in err


def test_the_fake_refuses_a_field_nerdgraph_does_not_know(fake: FakeNerdGraph) -> None:
    """The fake is strict: a document with a misspelt input field fails like NerdGraph's."""
    response = httpx.post(
        fake.url,
        headers={"API-Key": API_KEY},
        json={
            "query": alerts.POLICY_CREATE,
            "variables": {
                "accountId": ACCOUNT_ID,
                "policy": {"name": "x", "incidentPreference": "PER_POLICY", "colour": "red"},
            },
        },
    )
    assert response.status_code == 200
    assert "colour" in response.json()["errors"][0]["message"]


async def test_503_is_tried_again_then_succeeds(fake: FakeNerdGraph) -> None:
    fake.canned = [(503, {"errors": [{"message": "busy"}]})]
    async with httpx.AsyncClient() as client:
        graph = NerdGraph(client, fake.url, API_KEY, backoff=0)
        report = await apply(load_plan(), graph, ACCOUNT_ID)
    assert report.policy == "created" and len(report.created) == 8
    assert [r.field for r in fake.requests[:2]] == ["policiesSearch", "policiesSearch"]


async def test_an_unreachable_endpoint_fails_after_bounded_attempts() -> None:
    with serve() as gone:
        url = gone.url
    async with httpx.AsyncClient() as client:  # nothing listens on that port any more
        graph = NerdGraph(client, url, API_KEY, attempts=3, backoff=0)
        with pytest.raises(NerdGraphError, match="cannot reach NerdGraph .* tried 3 times"):
            await apply(load_plan(), graph, ACCOUNT_ID)


async def test_an_answer_that_is_not_json_is_an_error() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>maintenance</html>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        graph = NerdGraph(client, "https://api.newrelic.com/graphql", API_KEY, backoff=0)
        with pytest.raises(NerdGraphError, match="not JSON: <html>maintenance"):
            await apply(load_plan(), graph, ACCOUNT_ID)


def test_make_alerts_target() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^alerts:.*## \S", makefile, re.MULTILINE)
    assert re.search(r"^\.PHONY: alerts$", makefile, re.MULTILINE)
    assert "python -m observability.alerts" in makefile
