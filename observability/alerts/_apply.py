"""Make the account's alert policy and its conditions what the plan says, through NerdGraph."""

from __future__ import annotations

from dataclasses import dataclass, field

from observability.alerts._errors import NerdGraphError
from observability.alerts._nerdgraph import (
    CONDITION_CREATE,
    CONDITION_UPDATE,
    CONDITIONS_QUERY,
    POLICIES_QUERY,
    POLICY_CREATE,
    POLICY_UPDATE,
    ConditionFound,
    ConditionsPage,
    NerdGraph,
    PoliciesPage,
    Written,
    read,
    search,
)
from observability.alerts._plan import Plan


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
    pages = await search(
        graph,
        POLICIES_QUERY,
        {"accountId": account_id, "searchCriteria": {"name": plan.policy_name}},
        PoliciesPage,
        ("actor", "account", "alerts", "policiesSearch"),
        "looking up the policy",
    )
    named = [p for page in pages for p in page.policies or [] if p.name == plan.policy_name]
    if len(named) > 1:
        raise NerdGraphError(
            f"{len(named)} policies are named {plan.policy_name!r} in account {account_id} "
            f"(ids {', '.join(p.id for p in named)}): delete or rename the extra ones"
        )
    policy_input = {"name": plan.policy_name, "incidentPreference": plan.incident_preference}
    if not named:
        what = "creating the policy"
        data = await graph.call(
            POLICY_CREATE, {"accountId": account_id, "policy": policy_input}, what
        )
        policy_id = read(Written, data, "alertsPolicyCreate", what=what).id
        report.policy = "created"
    else:
        policy_id = named[0].id
        if named[0].incidentPreference != plan.incident_preference:
            await graph.call(
                POLICY_UPDATE,
                {"accountId": account_id, "id": policy_id, "policy": policy_input},
                "updating the policy",
            )
            report.policy = "updated"
    report.policy_id = policy_id

    existing: dict[str, ConditionFound] = {}
    duplicates: set[str] = set()
    condition_pages = await search(
        graph,
        CONDITIONS_QUERY,
        {"accountId": account_id, "searchCriteria": {"policyId": policy_id}},
        ConditionsPage,
        ("actor", "account", "alerts", "nrqlConditionsSearch"),
        "looking up the policy's conditions",
    )
    for page in condition_pages:
        for found_condition in page.nrqlConditions or []:
            if not found_condition.in_policy(policy_id):
                continue
            if found_condition.name in existing:
                duplicates.add(found_condition.name)
            existing[found_condition.name] = found_condition
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
            read(Written, data, "alertsNrqlConditionStaticCreate", what=what)
            report.created.append(condition.name)
            continue
        what = f"updating condition {condition.name!r}"
        if found.type not in (None, "STATIC"):
            raise NerdGraphError(
                f"{what}: it exists as a {found.type} condition; this file manages STATIC ones "
                "(delete it in New Relic, then run make alerts again)"
            )
        data = await graph.call(
            CONDITION_UPDATE,
            {"accountId": account_id, "id": found.id, "condition": body},
            what,
        )
        read(Written, data, "alertsNrqlConditionStaticUpdate", what=what)
        report.updated.append(condition.name)
    report.unmanaged = sorted(set(existing) - wanted)
    return report
