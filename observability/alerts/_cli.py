"""The command line of `make alerts`: its settings from the environment, and `main`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from observability.alerts._apply import apply
from observability.alerts._errors import AlertsError, ConfigError
from observability.alerts._nerdgraph import EU_ENDPOINT, US_ENDPOINT, NerdGraph
from observability.alerts._plan import (
    ALERTS_FILE,
    DEFAULT_APP_PREFIX,
    DEFAULT_CLUSTER,
    Plan,
    load_plan,
)


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
