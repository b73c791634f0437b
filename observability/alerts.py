"""Apply observability/alerts.yaml to New Relic through NerdGraph (``make alerts``).

    python -m observability.alerts             create or update the policy and its conditions
    python -m observability.alerts --dry-run   print what would be applied; sends nothing
    python -m observability.alerts --check     validate alerts.yaml; sends nothing

Environment:
    NEW_RELIC_API_KEY          a User key (NRAK-...), sent as NerdGraph's API-Key header
    NEW_RELIC_ACCOUNT_ID       the account that owns the policy
    NEW_RELIC_REGION           us (default) or eu: which NerdGraph endpoint
    NEW_RELIC_NERDGRAPH_URL    the endpoint itself (wins over the region; the tests point it at a
                               local server)
    NEW_RELIC_APP_NAME_PREFIX  the APM applications' prefix in the NRQL (default pantry)
    NEW_RELIC_CLUSTER_NAME     nri-bundle's cluster name in the NRQL (default pantry-production)
    PANTRY_RUNBOOK_URL         the browsable URL of docs/observability.md: each condition's
                               runbookUrl is it with the condition's anchor (optional)

Idempotent: the policy is looked up by name (created if missing; its incident preference set if it
differs), then each condition by name within the policy: updated if it exists, created if not.
Conditions of the policy that alerts.yaml does not name are reported and left alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import httpx
import yaml

ALERTS_FILE = Path(__file__).with_name("alerts.yaml")
RUNBOOK_DOC = "docs/observability.md"
US_ENDPOINT = "https://api.newrelic.com/graphql"
EU_ENDPOINT = "https://api.eu.newrelic.com/graphql"
DEFAULT_APP_PREFIX = "pantry"
DEFAULT_CLUSTER = "pantry-production"
#: An open incident closes after a day at the latest (NerdGraph's violationTimeLimitSeconds).
VIOLATION_TIME_LIMIT_SECONDS = 86400
#: The most pages of search results read before giving up (a loop guard, never reached).
MAX_PAGES = 50

INCIDENT_PREFERENCES = frozenset({"PER_POLICY", "PER_CONDITION", "PER_CONDITION_AND_TARGET"})
PRIORITIES = frozenset({"CRITICAL", "WARNING"})
OPERATORS = frozenset(
    {"ABOVE", "ABOVE_OR_EQUALS", "BELOW", "BELOW_OR_EQUALS", "EQUALS", "NOT_EQUALS"}
)
OCCURRENCES = frozenset({"ALL", "AT_LEAST_ONCE"})
AGGREGATION_METHODS = frozenset({"EVENT_FLOW", "EVENT_TIMER", "CADENCE"})
FILL_OPTIONS = frozenset({"NONE", "LAST_VALUE", "STATIC"})
SERVICES = frozenset({"api", "recipe-engine", "realtime"})

_KEY = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# What may stand in for ${app_prefix} and ${cluster}: no quote can break out of the NRQL string.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# --- NerdGraph documents --------------------------------------------------------------------------
# Names and input types as NerdGraph's schema has them (docs.newrelic.com, NerdGraph tutorials:
# alert policies, NRQL conditions).

POLICIES_QUERY = """
query PantryPolicies(
  $accountId: Int!
  $searchCriteria: AlertsPoliciesSearchCriteriaInput
  $cursor: String
) {
  actor {
    account(id: $accountId) {
      alerts {
        policiesSearch(searchCriteria: $searchCriteria, cursor: $cursor) {
          nextCursor
          policies {
            id
            name
            incidentPreference
          }
        }
      }
    }
  }
}
"""

POLICY_CREATE = """
mutation PantryPolicyCreate($accountId: Int!, $policy: AlertsPolicyInput!) {
  alertsPolicyCreate(accountId: $accountId, policy: $policy) {
    id
    name
    incidentPreference
  }
}
"""

POLICY_UPDATE = """
mutation PantryPolicyUpdate($accountId: Int!, $id: ID!, $policy: AlertsPolicyUpdateInput!) {
  alertsPolicyUpdate(accountId: $accountId, id: $id, policy: $policy) {
    id
    name
    incidentPreference
  }
}
"""

CONDITIONS_QUERY = """
query PantryConditions(
  $accountId: Int!
  $searchCriteria: AlertsNrqlConditionsSearchCriteriaInput
  $cursor: String
) {
  actor {
    account(id: $accountId) {
      alerts {
        nrqlConditionsSearch(searchCriteria: $searchCriteria, cursor: $cursor) {
          nextCursor
          nrqlConditions {
            id
            name
            policyId
            type
          }
        }
      }
    }
  }
}
"""

CONDITION_CREATE = """
mutation PantryConditionCreate(
  $accountId: Int!
  $policyId: ID!
  $condition: AlertsNrqlConditionStaticInput!
) {
  alertsNrqlConditionStaticCreate(
    accountId: $accountId
    policyId: $policyId
    condition: $condition
  ) {
    id
    name
  }
}
"""

CONDITION_UPDATE = """
mutation PantryConditionUpdate(
  $accountId: Int!
  $id: ID!
  $condition: AlertsNrqlConditionUpdateStaticInput!
) {
  alertsNrqlConditionStaticUpdate(accountId: $accountId, id: $id, condition: $condition) {
    id
    name
  }
}
"""


# --- errors ---------------------------------------------------------------------------------------


class AlertsError(Exception):
    """Something `make alerts` cannot do; the message says what and how to fix it."""

    exit_code = 1


class ConfigError(AlertsError):
    """alerts.yaml or the environment is wrong: nothing was sent."""

    exit_code = 2


class NerdGraphError(AlertsError):
    """NerdGraph refused or failed a request."""


# --- alerts.yaml ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One NRQL static condition, its placeholders filled in."""

    key: str
    name: str
    prometheus_alert: str
    service: str
    description: str
    nrql: str
    term: Mapping[str, Any]
    signal: Mapping[str, Any]
    expiration: Mapping[str, Any]

    @property
    def runbook(self) -> str:
        return f"{RUNBOOK_DOC}#{self.key}"

    def graphql_input(self, runbook_url: str | None = None) -> dict[str, Any]:
        """The `condition` argument of alertsNrqlConditionStaticCreate and ...Update (the two
        input types have the same fields; every one is sent, so an update restores them all)."""
        body: dict[str, Any] = {
            "name": self.name,
            "enabled": True,
            "description": f"{self.description}\nRunbook: {self.runbook}",
            "nrql": {"query": self.nrql},
            "terms": [dict(self.term)],
            "signal": dict(self.signal),
            "expiration": dict(self.expiration),
            "violationTimeLimitSeconds": VIOLATION_TIME_LIMIT_SECONDS,
        }
        if runbook_url:
            body["runbookUrl"] = f"{runbook_url}#{self.key}"
        return body


@dataclass(frozen=True)
class Plan:
    policy_name: str
    incident_preference: str
    conditions: tuple[Condition, ...]


_DEFAULT_EXPIRATION = {
    "expirationDuration": None,
    "openViolationOnExpiration": False,
    "closeViolationsOnExpiration": False,
}


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _keys(value: Mapping[str, Any], where: str, required: set[str], optional: set[str]) -> None:
    missing = sorted(required - set(value))
    unknown = sorted(set(value) - required - optional)
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}")
    if unknown:
        raise ConfigError(f"{where}: unknown {', '.join(unknown)}")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected a non-empty string")
    return " ".join(value.split())


def _number(value: Any, where: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    return value


def _seconds(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{where}: expected a positive whole number of seconds, got {value!r}")
    return value


def _one_of(value: Any, allowed: frozenset[str], where: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(sorted(allowed))}")
    return str(value)


def _term(raw: Any, window: int, where: str) -> dict[str, Any]:
    term = _mapping(raw, where)
    _keys(
        term,
        where,
        {"priority", "operator", "threshold", "thresholdDuration", "thresholdOccurrences"},
        set(),
    )
    duration = _seconds(term["thresholdDuration"], f"{where}.thresholdDuration")
    if duration < window or duration % window:
        raise ConfigError(
            f"{where}.thresholdDuration: {duration} s must be a multiple of the aggregation "
            f"window ({window} s)"
        )
    return {
        "priority": _one_of(term["priority"], PRIORITIES, f"{where}.priority"),
        "operator": _one_of(term["operator"], OPERATORS, f"{where}.operator"),
        "threshold": _number(term["threshold"], f"{where}.threshold"),
        "thresholdDuration": duration,
        "thresholdOccurrences": _one_of(
            term["thresholdOccurrences"], OCCURRENCES, f"{where}.thresholdOccurrences"
        ),
    }


def _signal(raw: Any, where: str) -> dict[str, Any]:
    signal = _mapping(raw, where)
    _keys(
        signal,
        where,
        {"aggregationWindow", "aggregationMethod"},
        {"aggregationDelay", "aggregationTimer", "fillOption", "fillValue", "slideBy"},
    )
    out: dict[str, Any] = {
        "aggregationWindow": _seconds(signal["aggregationWindow"], f"{where}.aggregationWindow"),
        "aggregationMethod": _one_of(
            signal["aggregationMethod"], AGGREGATION_METHODS, f"{where}.aggregationMethod"
        ),
    }
    for name in ("aggregationDelay", "aggregationTimer", "slideBy"):
        if name in signal:
            out[name] = _seconds(signal[name], f"{where}.{name}")
    if "fillOption" in signal:
        out["fillOption"] = _one_of(signal["fillOption"], FILL_OPTIONS, f"{where}.fillOption")
    if "fillValue" in signal:
        out["fillValue"] = _number(signal["fillValue"], f"{where}.fillValue")
    if out["aggregationMethod"] == "EVENT_TIMER" and "aggregationDelay" in out:
        raise ConfigError(f"{where}: EVENT_TIMER takes aggregationTimer, not aggregationDelay")
    return out


def _expiration(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return dict(_DEFAULT_EXPIRATION)
    expiration = _mapping(raw, where)
    _keys(
        expiration,
        where,
        {"expirationDuration", "openViolationOnExpiration", "closeViolationsOnExpiration"},
        set(),
    )
    out = {
        "expirationDuration": _seconds(
            expiration["expirationDuration"], f"{where}.expirationDuration"
        ),
        "openViolationOnExpiration": expiration["openViolationOnExpiration"],
        "closeViolationsOnExpiration": expiration["closeViolationsOnExpiration"],
    }
    for name in ("openViolationOnExpiration", "closeViolationsOnExpiration"):
        if not isinstance(out[name], bool):
            raise ConfigError(f"{where}.{name}: expected true or false")
    return out


def _nrql(raw: Any, where: str, placeholders: Mapping[str, str]) -> str:
    text = _text(raw, where)
    try:
        query = Template(text).substitute(placeholders)
    except KeyError as error:
        raise ConfigError(
            f"{where}: unknown placeholder ${{{error.args[0]}}} (known: "
            f"{', '.join('${' + name + '}' for name in sorted(placeholders))})"
        ) from None
    except ValueError as error:
        raise ConfigError(f"{where}: {error} (write $$ for a literal $)") from None
    if not re.match(r"(?i)^(SELECT|FROM)\s", query):
        raise ConfigError(f"{where}: a NRQL query starts with SELECT or FROM")
    return query


def load_plan(
    path: Path = ALERTS_FILE,
    *,
    app_prefix: str = DEFAULT_APP_PREFIX,
    cluster: str = DEFAULT_CLUSTER,
) -> Plan:
    """alerts.yaml, validated, with ${app_prefix} and ${cluster} filled in."""
    for name, value in (("app_prefix", app_prefix), ("cluster", cluster)):
        if not _NAME.match(value):
            raise ConfigError(f"{name} {value!r}: letters, digits, '.', '_' and '-' only")
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: {error}") from None
    root = _mapping(document, str(path))
    _keys(root, str(path), {"policy", "conditions"}, set())
    policy = _mapping(root["policy"], "policy")
    _keys(policy, "policy", {"name", "incidentPreference"}, set())
    raw_conditions = root["conditions"]
    if not isinstance(raw_conditions, list) or not raw_conditions:
        raise ConfigError("conditions: expected a non-empty list")

    placeholders = {"app_prefix": app_prefix, "cluster": cluster}
    conditions: list[Condition] = []
    for index, raw in enumerate(raw_conditions):
        where = f"conditions[{index}]"
        item = _mapping(raw, where)
        _keys(
            item,
            where,
            {"key", "name", "prometheusAlert", "service", "description", "nrql", "term", "signal"},
            {"expiration"},
        )
        key = _text(item["key"], f"{where}.key")
        if not _KEY.match(key):
            raise ConfigError(f"{where}.key: {key!r} must be lower-case words joined by '-'")
        where = f"condition {key}"
        signal = _signal(item["signal"], f"{where}.signal")
        conditions.append(
            Condition(
                key=key,
                name=_text(item["name"], f"{where}.name"),
                prometheus_alert=_text(item["prometheusAlert"], f"{where}.prometheusAlert"),
                service=_one_of(item["service"], SERVICES, f"{where}.service"),
                description=_text(item["description"], f"{where}.description"),
                nrql=_nrql(item["nrql"], f"{where}.nrql", placeholders),
                term=_term(item["term"], signal["aggregationWindow"], f"{where}.term"),
                signal=signal,
                expiration=_expiration(item.get("expiration"), f"{where}.expiration"),
            )
        )
    for attribute in ("key", "name", "prometheus_alert"):
        values = [getattr(c, attribute) for c in conditions]
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            raise ConfigError(f"two conditions share a {attribute}: {', '.join(duplicates)}")
    return Plan(
        policy_name=_text(policy["name"], "policy.name"),
        incident_preference=_one_of(
            policy["incidentPreference"], INCIDENT_PREFERENCES, "policy.incidentPreference"
        ),
        conditions=tuple(conditions),
    )


# --- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    api_key: str = field(repr=False)
    account_id: int
    endpoint: str
    app_prefix: str
    cluster: str
    runbook_url: str | None


def settings_from_env(env: Mapping[str, str]) -> Settings:
    api_key = env.get("NEW_RELIC_API_KEY", "").strip()
    if not api_key:
        raise ConfigError(
            "NEW_RELIC_API_KEY is not set: a User key (NRAK-...) from New Relic's API keys page"
        )
    if api_key.endswith("NRAL") or api_key.upper().startswith("NRII-"):
        raise ConfigError(
            "NEW_RELIC_API_KEY holds a license or ingest key: NerdGraph wants a User key (NRAK-...)"
        )
    account = env.get("NEW_RELIC_ACCOUNT_ID", "").strip()
    if not account.isdigit():
        raise ConfigError(
            "NEW_RELIC_ACCOUNT_ID must be the account's number (New Relic: your name > "
            "Administration > Access management > Accounts)"
        )
    region = env.get("NEW_RELIC_REGION", "us").strip().lower() or "us"
    if region not in ("us", "eu"):
        raise ConfigError(f"NEW_RELIC_REGION {region!r}: us or eu")
    endpoint = env.get("NEW_RELIC_NERDGRAPH_URL", "").strip() or (
        EU_ENDPOINT if region == "eu" else US_ENDPOINT
    )
    if not endpoint.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ConfigError(f"NEW_RELIC_NERDGRAPH_URL {endpoint!r}: https only (or a local test URL)")
    return Settings(
        api_key=api_key,
        account_id=int(account),
        endpoint=endpoint,
        app_prefix=env.get("NEW_RELIC_APP_NAME_PREFIX", "").strip() or DEFAULT_APP_PREFIX,
        cluster=env.get("NEW_RELIC_CLUSTER_NAME", "").strip() or DEFAULT_CLUSTER,
        runbook_url=env.get("PANTRY_RUNBOOK_URL", "").strip() or None,
    )


# --- NerdGraph ------------------------------------------------------------------------------------


class NerdGraph:
    """POSTs GraphQL documents to NerdGraph with the API-Key header; errors become NerdGraphError.

    A request that never reached the server (connection refused, connect timeout) or that the
    server turned away unprocessed (HTTP 429, 503) is tried again, `attempts` times in all, with
    an exponential backoff. Anything else fails at once: running `make alerts` again is safe.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        endpoint: str,
        api_key: str,
        *,
        attempts: int = 3,
        backoff: float = 1.0,
    ) -> None:
        self._client = client
        self._endpoint = endpoint
        self._api_key = api_key
        self._attempts = max(1, attempts)
        self._backoff = backoff

    async def call(self, document: str, variables: Mapping[str, Any], what: str) -> dict[str, Any]:
        payload = {"query": document, "variables": dict(variables)}
        headers = {"API-Key": self._api_key, "Content-Type": "application/json"}
        for attempt in range(1, self._attempts + 1):
            retry_in = self._backoff * 2 ** (attempt - 1)
            try:
                response = await self._client.post(self._endpoint, json=payload, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                if attempt < self._attempts:
                    await asyncio.sleep(retry_in)
                    continue
                raise NerdGraphError(
                    f"{what}: cannot reach NerdGraph at {self._endpoint} ({error}); "
                    f"tried {self._attempts} times"
                ) from None
            except httpx.HTTPError as error:
                raise NerdGraphError(
                    f"{what}: request to {self._endpoint} failed: {type(error).__name__} {error}"
                ) from None
            if response.status_code in (429, 503) and attempt < self._attempts:
                await asyncio.sleep(retry_in)
                continue
            return self._data(response, what)
        raise AssertionError("unreachable")  # pragma: no cover

    def _data(self, response: httpx.Response, what: str) -> dict[str, Any]:
        status = response.status_code
        if status in (401, 403):
            raise NerdGraphError(
                f"{what}: NerdGraph refused the API key (HTTP {status}). NEW_RELIC_API_KEY must be "
                "a valid User key (NRAK-...) of a user with access to NEW_RELIC_ACCOUNT_ID, for "
                "this region (NEW_RELIC_REGION=eu for an EU account)."
            )
        if status != 200:
            raise NerdGraphError(f"{what}: HTTP {status} from NerdGraph: {response.text[:300]}")
        try:
            body = response.json()
        except json.JSONDecodeError:
            raise NerdGraphError(
                f"{what}: NerdGraph answered HTTP 200 but not JSON: {response.text[:300]}"
            ) from None
        if not isinstance(body, dict):
            raise NerdGraphError(f"{what}: unexpected answer from NerdGraph: {str(body)[:300]}")
        errors = body.get("errors") or []
        if errors:
            messages = []
            for error in errors:
                if isinstance(error, dict):
                    path = ".".join(str(p) for p in error.get("path") or [])
                    text = str(error.get("message", error))
                    messages.append(f"{text} (at {path})" if path else text)
                else:
                    messages.append(str(error))
            raise NerdGraphError(f"{what}: NerdGraph error: {'; '.join(messages)}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise NerdGraphError(f"{what}: NerdGraph answered without data: {str(body)[:300]}")
        return data


def _dig(data: Any, *path: str, what: str) -> Any:
    for name in path:
        if not isinstance(data, dict) or data.get(name) is None:
            raise NerdGraphError(f"{what}: the answer has no {'.'.join(path)}")
        data = data[name]
    return data


async def _search(
    graph: NerdGraph,
    document: str,
    variables: Mapping[str, Any],
    path: tuple[str, ...],
    items: str,
    what: str,
) -> list[dict[str, Any]]:
    """Every item of a paginated NerdGraph search (nextCursor)."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        data = await graph.call(document, {**variables, "cursor": cursor}, what)
        page = _dig(data, *path, what=what)
        found.extend(page.get(items) or [])
        cursor = page.get("nextCursor")
        if not cursor:
            return found
    raise NerdGraphError(f"{what}: more than {MAX_PAGES} pages of results")


# --- apply ----------------------------------------------------------------------------------------


@dataclass
class Report:
    policy_id: str = ""
    policy: str = "found"  # found, created or updated
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)

    def lines(self, plan: Plan) -> list[str]:
        out = [f"policy {plan.policy_name!r} (id {self.policy_id}): {self.policy}"]
        out += [f"  created  {name}" for name in self.created]
        out += [f"  updated  {name}" for name in self.updated]
        out += [f"  not in alerts.yaml, left alone: {name}" for name in self.unmanaged]
        return out


async def apply(
    plan: Plan, graph: NerdGraph, account_id: int, runbook_url: str | None = None
) -> Report:
    """Make the account's policy and conditions what `plan` says (create or update, by name)."""
    report = Report()
    policies = await _search(
        graph,
        POLICIES_QUERY,
        {"accountId": account_id, "searchCriteria": {"name": plan.policy_name}},
        ("actor", "account", "alerts", "policiesSearch"),
        "policies",
        "looking up the policy",
    )
    named = [p for p in policies if p.get("name") == plan.policy_name]
    if len(named) > 1:
        raise NerdGraphError(
            f"{len(named)} policies are named {plan.policy_name!r} in account {account_id} "
            f"(ids {', '.join(str(p.get('id')) for p in named)}): delete or rename the extra ones"
        )
    policy_input = {"name": plan.policy_name, "incidentPreference": plan.incident_preference}
    if not named:
        data = await graph.call(
            POLICY_CREATE,
            {"accountId": account_id, "policy": policy_input},
            "creating the policy",
        )
        policy_id = str(_dig(data, "alertsPolicyCreate", "id", what="creating the policy"))
        report.policy = "created"
    else:
        policy_id = str(named[0].get("id"))
        if named[0].get("incidentPreference") != plan.incident_preference:
            await graph.call(
                POLICY_UPDATE,
                {"accountId": account_id, "id": policy_id, "policy": policy_input},
                "updating the policy",
            )
            report.policy = "updated"
    report.policy_id = policy_id

    existing: dict[str, dict[str, Any]] = {}
    duplicates: set[str] = set()
    conditions = await _search(
        graph,
        CONDITIONS_QUERY,
        {"accountId": account_id, "searchCriteria": {"policyId": policy_id}},
        ("actor", "account", "alerts", "nrqlConditionsSearch"),
        "nrqlConditions",
        "looking up the policy's conditions",
    )
    for found_condition in conditions:
        if str(found_condition.get("policyId", policy_id)) != policy_id:
            continue
        name = str(found_condition.get("name"))
        if name in existing:
            duplicates.add(name)
        existing[name] = found_condition
    wanted = {c.name for c in plan.conditions}
    clash = sorted(duplicates & wanted)
    if clash:
        raise NerdGraphError(
            f"the policy has several conditions named {', '.join(map(repr, clash))}: "
            "delete the extra ones in New Relic, then run make alerts again"
        )

    for condition in plan.conditions:
        found = existing.get(condition.name)
        body = condition.graphql_input(runbook_url)
        if found is None:
            what = f"creating condition {condition.name!r}"
            data = await graph.call(
                CONDITION_CREATE,
                {"accountId": account_id, "policyId": policy_id, "condition": body},
                what,
            )
            _dig(data, "alertsNrqlConditionStaticCreate", "id", what=what)
            report.created.append(condition.name)
            continue
        what = f"updating condition {condition.name!r}"
        kind = found.get("type")
        if kind not in (None, "STATIC"):
            raise NerdGraphError(
                f"{what}: it exists as a {kind} condition; this file manages STATIC ones "
                "(delete it in New Relic, then run make alerts again)"
            )
        data = await graph.call(
            CONDITION_UPDATE,
            {"accountId": account_id, "id": str(found.get("id")), "condition": body},
            what,
        )
        _dig(data, "alertsNrqlConditionStaticUpdate", "id", what=what)
        report.updated.append(condition.name)
    report.unmanaged = sorted(set(existing) - wanted)
    return report


# --- command line ---------------------------------------------------------------------------------


def _describe(plan: Plan, runbook_url: str | None) -> str:
    body = {
        "policy": {"name": plan.policy_name, "incidentPreference": plan.incident_preference},
        "conditions": [c.graphql_input(runbook_url) for c in plan.conditions],
    }
    return json.dumps(body, indent=2)


async def _run(settings: Settings, plan: Plan, write: Callable[[str], object]) -> None:
    timeout = httpx.Timeout(30.0, connect=10.0)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        graph = NerdGraph(client, settings.endpoint, settings.api_key)
        report = await apply(plan, graph, settings.account_id, settings.runbook_url)
    for line in report.lines(plan):
        write(line + "\n")


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    write: Callable[[str], object] = sys.stdout.write,
    error: Callable[[str], object] = sys.stderr.write,
) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m observability.alerts",
        description="Create or update Pantry Chef's New Relic alert policy and its NRQL "
        "conditions (observability/alerts.yaml) through NerdGraph.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print what would be applied")
    mode.add_argument("--check", action="store_true", help="only validate the file")
    parser.add_argument("--file", type=Path, default=ALERTS_FILE, help="the conditions file")
    args = parser.parse_args(argv)
    env = os.environ if env is None else env
    try:
        app_prefix = env.get("NEW_RELIC_APP_NAME_PREFIX", "").strip() or DEFAULT_APP_PREFIX
        cluster = env.get("NEW_RELIC_CLUSTER_NAME", "").strip() or DEFAULT_CLUSTER
        plan = load_plan(args.file, app_prefix=app_prefix, cluster=cluster)
        if args.check:
            write(f"{args.file}: {len(plan.conditions)} conditions, valid\n")
            return 0
        if args.dry_run:
            write(_describe(plan, env.get("PANTRY_RUNBOOK_URL", "").strip() or None) + "\n")
            return 0
        settings = settings_from_env(env)
        write(
            f"applying {len(plan.conditions)} conditions to policy {plan.policy_name!r} of "
            f"account {settings.account_id} ({settings.endpoint}; apps {app_prefix}-*, "
            f"cluster {cluster})\n"
        )
        asyncio.run(_run(settings, plan, write))
    except AlertsError as failure:
        error(f"make alerts: {failure}\n")
        return failure.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
