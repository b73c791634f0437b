"""The NerdGraph client of `make alerts`: the GraphQL documents it sends, the HTTP client that
sends them, and pydantic models of the answers it reads.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from observability.alerts._errors import NerdGraphError

US_ENDPOINT = "https://api.newrelic.com/graphql"
EU_ENDPOINT = "https://api.eu.newrelic.com/graphql"
#: The most pages of search results read before giving up (a loop guard, never reached).
MAX_PAGES = 50

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


# --- answers --------------------------------------------------------------------------------------


class _Answer(BaseModel):
    # NerdGraph answers what was asked; ids are strings (ID), numbers are taken as strings too.
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


class GraphQLError(_Answer):
    model_config = ConfigDict(extra="allow")

    message: str | None = None
    path: list[str | int] | None = None

    def describe(self) -> str:
        text = self.message if self.message is not None else str(self.model_dump())
        where = ".".join(str(p) for p in self.path or [])
        return f"{text} (at {where})" if where else text


class Envelope(_Answer):
    """Every answer: `data`, and `errors` when something failed."""

    data: Any = None
    errors: list[GraphQLError | str] | None = None


class PolicyFound(_Answer):
    id: str
    name: str
    incidentPreference: str | None = None


class PoliciesPage(_Answer):
    """actor.account.alerts.policiesSearch"""

    nextCursor: str | None = None
    policies: list[PolicyFound] | None = None


class ConditionFound(_Answer):
    id: str
    name: str
    policyId: str | None = None
    type: str | None = None

    def in_policy(self, policy_id: str) -> bool:
        """Whether the search's answer puts it in the policy (it does unless it says otherwise)."""
        return "policyId" not in self.model_fields_set or self.policyId == policy_id


class ConditionsPage(_Answer):
    """actor.account.alerts.nrqlConditionsSearch"""

    nextCursor: str | None = None
    nrqlConditions: list[ConditionFound] | None = None


class Written(_Answer):
    """What a create or update mutation answers (alertsPolicyCreate, ...)."""

    id: str
    name: str | None = None


A = TypeVar("A", bound=_Answer)


def read(model: type[A], data: Any, *path: str, what: str) -> A:
    """The part of an answer's `data` at `path`, as `model`."""
    for name in path:
        if not isinstance(data, dict) or data.get(name) is None:
            raise NerdGraphError(f"{what}: the answer has no {'.'.join(path)}")
        data = data[name]
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise NerdGraphError(
            f"{what}: unexpected answer at {'.'.join(path)}: {str(data)[:300]} ({error})"
        ) from None


# --- the client -----------------------------------------------------------------------------------


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
        try:
            answer = Envelope.model_validate(body)
        except ValidationError:
            raise NerdGraphError(
                f"{what}: unexpected answer from NerdGraph: {str(body)[:300]}"
            ) from None
        if answer.errors:
            messages = [e if isinstance(e, str) else e.describe() for e in answer.errors]
            raise NerdGraphError(f"{what}: NerdGraph error: {'; '.join(messages)}")
        if not isinstance(answer.data, dict):
            raise NerdGraphError(f"{what}: NerdGraph answered without data: {str(body)[:300]}")
        return answer.data


P = TypeVar("P", PoliciesPage, ConditionsPage)


async def search(
    graph: NerdGraph,
    document: str,
    variables: Mapping[str, Any],
    page_model: type[P],
    path: tuple[str, ...],
    what: str,
) -> list[P]:
    """Every page of a paginated NerdGraph search (nextCursor)."""
    pages: list[P] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        data = await graph.call(document, {**variables, "cursor": cursor}, what)
        page = read(page_model, data, *path, what=what)
        pages.append(page)
        cursor = page.nextCursor
        if not cursor:
            return pages
    raise NerdGraphError(f"{what}: more than {MAX_PAGES} pages of results")
