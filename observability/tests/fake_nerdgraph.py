"""A stand-in for NerdGraph on 127.0.0.1, for the tests of `make alerts`: no network.

It serves the part of NerdGraph's schema that observability/alerts/ uses, written out below as
SDL from New Relic's NerdGraph documentation (alert policies and NRQL conditions), and runs every
document it receives through graphql-core against it: a misspelt field, argument, input type or
enum value, an undeclared variable or a missing required one is refused the way NerdGraph
refuses it, with a GraphQL error. It also checks the API-Key header, keeps the policies and
conditions it was asked to create, pages its search results (a few per page, so that the client
must follow nextCursor), and records every request for the tests to look at.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    graphql_sync,
    parse,
)

ACCOUNT_ID = 1234567
API_KEY = "NRAK-TESTTESTTESTTESTTESTTESTTEST"

SDL = """
scalar Seconds

enum AlertsIncidentPreference { PER_CONDITION PER_CONDITION_AND_TARGET PER_POLICY }
enum AlertsNrqlConditionPriority { CRITICAL WARNING }
enum AlertsNrqlConditionTermsOperator {
  ABOVE ABOVE_OR_EQUALS BELOW BELOW_OR_EQUALS EQUALS NOT_EQUALS
}
enum AlertsNrqlConditionThresholdOccurrences { ALL AT_LEAST_ONCE }
enum AlertsSignalAggregationMethod { CADENCE EVENT_FLOW EVENT_TIMER }
enum AlertsFillOption { LAST_VALUE NONE STATIC }
enum AlertsNrqlConditionType { BASELINE STATIC }

input AlertsPoliciesSearchCriteriaInput { ids: [ID], name: String, nameLike: String }
input AlertsNrqlConditionsSearchCriteriaInput {
  name: String, nameLike: String, policyId: ID, query: String, queryLike: String
}
input AlertsPolicyInput { name: String!, incidentPreference: AlertsIncidentPreference! }
input AlertsPolicyUpdateInput { name: String, incidentPreference: AlertsIncidentPreference }

input AlertsNrqlConditionQueryInput { query: String!, dataAccountId: Int }
input AlertsNrqlConditionUpdateQueryInput { query: String, dataAccountId: Int }
input AlertsNrqlConditionTermsInput {
  operator: AlertsNrqlConditionTermsOperator!
  priority: AlertsNrqlConditionPriority
  threshold: Float!
  thresholdDuration: Seconds!
  thresholdOccurrences: AlertsNrqlConditionThresholdOccurrences!
}
input AlertsNrqlConditionSignalInput {
  aggregationWindow: Seconds
  aggregationMethod: AlertsSignalAggregationMethod
  aggregationDelay: Seconds
  aggregationTimer: Seconds
  fillOption: AlertsFillOption
  fillValue: Float
  slideBy: Seconds
}
input AlertsNrqlConditionExpirationInput {
  expirationDuration: Seconds
  openViolationOnExpiration: Boolean
  closeViolationsOnExpiration: Boolean
}
input AlertsNrqlConditionStaticInput {
  name: String!
  enabled: Boolean!
  description: String
  nrql: AlertsNrqlConditionQueryInput!
  terms: [AlertsNrqlConditionTermsInput!]!
  signal: AlertsNrqlConditionSignalInput
  expiration: AlertsNrqlConditionExpirationInput
  violationTimeLimitSeconds: Seconds
  runbookUrl: String
}
input AlertsNrqlConditionUpdateStaticInput {
  name: String
  enabled: Boolean
  description: String
  nrql: AlertsNrqlConditionUpdateQueryInput
  terms: [AlertsNrqlConditionTermsInput!]
  signal: AlertsNrqlConditionSignalInput
  expiration: AlertsNrqlConditionExpirationInput
  violationTimeLimitSeconds: Seconds
  runbookUrl: String
}

type AlertsPolicy {
  id: ID!
  name: String!
  incidentPreference: AlertsIncidentPreference!
  accountId: Int!
}
type AlertsPoliciesSearchResultSet {
  nextCursor: String
  policies: [AlertsPolicy!]!
  totalCount: Int!
}
interface AlertsNrqlCondition {
  id: ID!
  name: String!
  policyId: ID!
  type: AlertsNrqlConditionType!
  enabled: Boolean!
}
type AlertsNrqlStaticCondition implements AlertsNrqlCondition {
  id: ID!
  name: String!
  policyId: ID!
  type: AlertsNrqlConditionType!
  enabled: Boolean!
}
type AlertsNrqlBaselineCondition implements AlertsNrqlCondition {
  id: ID!
  name: String!
  policyId: ID!
  type: AlertsNrqlConditionType!
  enabled: Boolean!
}
type AlertsNrqlConditionsSearchResultSet {
  nextCursor: String
  nrqlConditions: [AlertsNrqlCondition!]
  totalCount: Int
}
type AlertsAccountStitchedFields {
  policiesSearch(
    cursor: String, searchCriteria: AlertsPoliciesSearchCriteriaInput
  ): AlertsPoliciesSearchResultSet
  nrqlConditionsSearch(
    cursor: String, searchCriteria: AlertsNrqlConditionsSearchCriteriaInput
  ): AlertsNrqlConditionsSearchResultSet
}
type Account { alerts: AlertsAccountStitchedFields }
type Actor { account(id: Int!): Account }
type Query { actor: Actor }
type Mutation {
  alertsPolicyCreate(accountId: Int!, policy: AlertsPolicyInput!): AlertsPolicy
  alertsPolicyUpdate(accountId: Int!, id: ID!, policy: AlertsPolicyUpdateInput!): AlertsPolicy
  alertsNrqlConditionStaticCreate(
    accountId: Int!, policyId: ID!, condition: AlertsNrqlConditionStaticInput!
  ): AlertsNrqlStaticCondition
  alertsNrqlConditionStaticUpdate(
    accountId: Int!, id: ID!, condition: AlertsNrqlConditionUpdateStaticInput!
  ): AlertsNrqlStaticCondition
}
"""


@dataclass
class Request:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    operation: str  # "query" or "mutation"
    field: str  # the root field under actor.account.alerts, or the mutation
    document: str
    variables: dict[str, Any]


@dataclass
class FakeNerdGraph:
    page_size: int = 3
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    conditions: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    #: Canned answers (status, body) served, in order, before the real ones.
    canned: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    url: str = ""
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(9001))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.schema = _schema(self)

    # --- state helpers for the tests ---------------------------------------------------------

    def add_policy(self, name: str, incident_preference: str = "PER_POLICY") -> str:
        policy_id = str(next(self._ids))
        self.policies[policy_id] = {
            "id": policy_id,
            "name": name,
            "incidentPreference": incident_preference,
            "accountId": ACCOUNT_ID,
        }
        return policy_id

    def add_condition(self, policy_id: str, name: str, kind: str = "STATIC") -> str:
        condition_id = str(next(self._ids))
        self.conditions[condition_id] = {
            "id": condition_id,
            "name": name,
            "policyId": policy_id,
            "type": kind,
            "enabled": True,
            "input": {},
        }
        return condition_id

    def calls(self, field_name: str) -> list[Request]:
        return [r for r in self.requests if r.field == field_name]

    # --- HTTP --------------------------------------------------------------------------------

    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            return self._answer(path, headers, raw)

    def _answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        if path != "/graphql":
            return 404, {"errors": [{"message": f"no such path {path}"}]}
        try:
            body = json.loads(raw)
            document = body["query"]
            variables = body.get("variables") or {}
            ast = parse(document)
        except (ValueError, KeyError, TypeError, GraphQLError) as error:
            return 400, {"errors": [{"message": f"bad request: {error}"}]}
        operation = next(d for d in ast.definitions if isinstance(d, OperationDefinitionNode))
        field_name = _root_field(operation)
        self.requests.append(
            Request(
                path=path,
                headers=headers,
                operation=operation.operation.value,
                field=field_name,
                document=document,
                variables=variables,
            )
        )
        if self.canned:
            return self.canned.pop(0)
        if headers.get("api-key") != API_KEY:
            return 401, {"errors": [{"message": "Invalid API key"}]}
        if not headers.get("content-type", "").startswith("application/json"):
            return 415, {"errors": [{"message": "Content-Type must be application/json"}]}
        result = graphql_sync(self.schema, document, variable_values=variables)
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        return 200, answer


def _root_field(operation: OperationDefinitionNode) -> str:
    """The mutation's field, or the field under actor { account { alerts { ... } } }."""
    node = operation.selection_set.selections[0]
    assert isinstance(node, FieldNode)
    if node.name.value == "actor":
        for _ in range(3):
            assert node.selection_set is not None
            child = node.selection_set.selections[0]
            assert isinstance(child, FieldNode)
            node = child
    return node.name.value


def _page(
    items: list[dict[str, Any]], cursor: str | None, size: int
) -> tuple[list[Any], str | None]:
    start = int(cursor or 0)
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def _schema(fake: FakeNerdGraph) -> GraphQLSchema:
    schema = build_schema(SDL)

    def object_type(name: str) -> GraphQLObjectType:
        found = schema.get_type(name)
        assert isinstance(found, GraphQLObjectType)
        return found

    def check_account(account_id: int) -> None:
        if account_id != ACCOUNT_ID:
            raise GraphQLError(f"Account {account_id} is not accessible with this key")

    def actor(_root: Any, _info: Any) -> dict[str, Any]:
        return {}

    def account(_root: Any, _info: Any, id: int) -> dict[str, Any]:
        check_account(id)
        return {"alerts": {}}

    def policies_search(
        _root: Any,
        _info: Any,
        cursor: str | None = None,
        searchCriteria: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        criteria = searchCriteria or {}
        items = [
            p
            for p in fake.policies.values()
            # NerdGraph's name search is loose: the client must compare names itself.
            if not criteria.get("name") or criteria["name"].lower() in p["name"].lower()
        ]
        page, next_cursor = _page(items, cursor, fake.page_size)
        return {"nextCursor": next_cursor, "policies": page, "totalCount": len(items)}

    def conditions_search(
        _root: Any,
        _info: Any,
        cursor: str | None = None,
        searchCriteria: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        criteria = searchCriteria or {}
        items = [
            c
            for c in fake.conditions.values()
            if not criteria.get("policyId") or c["policyId"] == criteria["policyId"]
        ]
        page, next_cursor = _page(items, cursor, fake.page_size)
        return {"nextCursor": next_cursor, "nrqlConditions": page, "totalCount": len(items)}

    def policy_create(
        _root: Any, _info: Any, accountId: int, policy: dict[str, Any]
    ) -> dict[str, Any]:
        check_account(accountId)
        policy_id = fake.add_policy(policy["name"], policy["incidentPreference"])
        return fake.policies[policy_id]

    def policy_update(
        _root: Any,
        _info: Any,
        accountId: int,
        id: str,
        policy: dict[str, Any],
    ) -> dict[str, Any]:
        check_account(accountId)
        if id not in fake.policies:
            raise GraphQLError(f"Policy {id} not found")
        fake.policies[id].update(policy)
        return fake.policies[id]

    def condition_create(
        _root: Any,
        _info: Any,
        accountId: int,
        policyId: str,
        condition: dict[str, Any],
    ) -> dict[str, Any]:
        check_account(accountId)
        if policyId not in fake.policies:
            raise GraphQLError(f"Policy {policyId} not found")
        condition_id = fake.add_condition(policyId, condition["name"])
        fake.conditions[condition_id]["input"] = condition
        return fake.conditions[condition_id]

    def condition_update(
        _root: Any,
        _info: Any,
        accountId: int,
        id: str,
        condition: dict[str, Any],
    ) -> dict[str, Any]:
        check_account(accountId)
        if id not in fake.conditions:
            raise GraphQLError(f"Condition {id} not found")
        stored = fake.conditions[id]
        if stored["type"] != "STATIC":
            raise GraphQLError(f"Condition {id} is not a static condition")
        stored["input"] = condition
        stored["name"] = condition.get("name", stored["name"])
        return stored

    object_type("Query").fields["actor"].resolve = actor
    object_type("Actor").fields["account"].resolve = account
    alerts = object_type("AlertsAccountStitchedFields")
    alerts.fields["policiesSearch"].resolve = policies_search
    alerts.fields["nrqlConditionsSearch"].resolve = conditions_search
    mutation = object_type("Mutation")
    mutation.fields["alertsPolicyCreate"].resolve = policy_create
    mutation.fields["alertsPolicyUpdate"].resolve = policy_update
    mutation.fields["alertsNrqlConditionStaticCreate"].resolve = condition_create
    mutation.fields["alertsNrqlConditionStaticUpdate"].resolve = condition_update
    interface = schema.get_type("AlertsNrqlCondition")
    assert isinstance(interface, GraphQLInterfaceType)

    def condition_type(value: dict[str, Any], _info: Any, _type: Any) -> str:
        return (
            "AlertsNrqlBaselineCondition"
            if value["type"] == "BASELINE"
            else ("AlertsNrqlStaticCondition")
        )

    interface.resolve_type = condition_type
    return schema


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, body = self.server.fake.answer(self.path, headers, raw)
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        del format, args  # quiet


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeNerdGraph) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


@contextmanager
def serve(fake: FakeNerdGraph | None = None) -> Iterator[FakeNerdGraph]:
    """The fake on a free port of 127.0.0.1 for the duration of the block (fake.url is set)."""
    fake = fake or FakeNerdGraph()
    server = _Server(fake)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    host, port = server.server_address[:2]
    fake.url = f"http://{host!s}:{port}/graphql"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
