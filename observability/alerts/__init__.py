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

The package, a module per concern:
    _plan.py       alerts.yaml as pydantic models: the plan, validated, its placeholders filled in
    _nerdgraph.py  the GraphQL documents, the HTTP client and pydantic models of the answers
    _apply.py      the plan applied through the client (create or update, by name)
    _cli.py        the settings from the environment and `main`; __main__.py runs it
"""

from observability.alerts._apply import Report, apply
from observability.alerts._cli import Settings, main, settings_from_env
from observability.alerts._errors import AlertsError, ConfigError, NerdGraphError
from observability.alerts._nerdgraph import (
    CONDITION_CREATE,
    CONDITION_UPDATE,
    CONDITIONS_QUERY,
    EU_ENDPOINT,
    MAX_PAGES,
    POLICIES_QUERY,
    POLICY_CREATE,
    POLICY_UPDATE,
    US_ENDPOINT,
    NerdGraph,
)
from observability.alerts._plan import (
    ALERTS_FILE,
    DEFAULT_APP_PREFIX,
    DEFAULT_CLUSTER,
    RUNBOOK_DOC,
    VIOLATION_TIME_LIMIT_SECONDS,
    Condition,
    Plan,
    load_plan,
)

__all__ = [
    "ALERTS_FILE",
    "CONDITIONS_QUERY",
    "CONDITION_CREATE",
    "CONDITION_UPDATE",
    "DEFAULT_APP_PREFIX",
    "DEFAULT_CLUSTER",
    "EU_ENDPOINT",
    "MAX_PAGES",
    "POLICIES_QUERY",
    "POLICY_CREATE",
    "POLICY_UPDATE",
    "RUNBOOK_DOC",
    "US_ENDPOINT",
    "VIOLATION_TIME_LIMIT_SECONDS",
    "AlertsError",
    "Condition",
    "ConfigError",
    "NerdGraph",
    "NerdGraphError",
    "Plan",
    "Report",
    "Settings",
    "apply",
    "load_plan",
    "main",
    "settings_from_env",
]
