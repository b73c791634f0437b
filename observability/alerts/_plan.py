"""The plan: observability/alerts.yaml read into pydantic models, its placeholders filled in.

The models say what the file may hold; `load_plan` turns their validation errors into one
ConfigError that names the place (`condition search-error-rate.term.operator: ...`).
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from observability.alerts._errors import ConfigError

ALERTS_FILE = Path(__file__).resolve().parents[1] / "alerts.yaml"
RUNBOOK_DOC = "docs/observability.md"
DEFAULT_APP_PREFIX = "pantry"
DEFAULT_CLUSTER = "pantry-production"
#: An open incident closes after a day at the latest (NerdGraph's violationTimeLimitSeconds).
VIOLATION_TIME_LIMIT_SECONDS = 86400

_KEY = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# What may stand in for ${app_prefix} and ${cluster}: no quote can break out of the NRQL string.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# --- value types ----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return " ".join(value.split())


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return value


def _seconds(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"expected a positive whole number of seconds, got {value!r}")
    return value


def _key(value: str) -> str:
    if not _KEY.match(value):
        raise ValueError(f"{value!r} must be lower-case words joined by '-'")
    return value


#: A string with its runs of white space made one space (YAML's folded lines), never empty.
Text = Annotated[str, PlainValidator(_text)]
#: An int or a float as written (YAML's true is not a number).
Number = Annotated[int | float, PlainValidator(_number)]
#: A positive whole number of seconds.
Seconds = Annotated[int, PlainValidator(_seconds)]
Key = Annotated[Text, AfterValidator(_key)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- the file -------------------------------------------------------------------------------------


class Term(_Model):
    """The one threshold of a condition (NerdGraph's AlertsNrqlConditionTermsInput)."""

    priority: Literal["CRITICAL", "WARNING"]
    operator: Literal[
        "ABOVE", "ABOVE_OR_EQUALS", "BELOW", "BELOW_OR_EQUALS", "EQUALS", "NOT_EQUALS"
    ]
    threshold: Number
    thresholdDuration: Seconds
    thresholdOccurrences: Literal["ALL", "AT_LEAST_ONCE"]


class Signal(_Model):
    """How the NRQL's results are aggregated (AlertsNrqlConditionSignalInput). The optional
    fields are sent only when the file gives them, in this order."""

    aggregationWindow: Seconds
    aggregationMethod: Literal["EVENT_FLOW", "EVENT_TIMER", "CADENCE"]
    aggregationDelay: Seconds | None = None
    aggregationTimer: Seconds | None = None
    slideBy: Seconds | None = None
    fillOption: Literal["NONE", "LAST_VALUE", "STATIC"] | None = None
    fillValue: Number | None = None

    @field_validator("aggregationDelay", "aggregationTimer", "slideBy", "fillValue", mode="before")
    @classmethod
    def _given(cls, value: Any, info: ValidationInfo) -> Any:
        # Optional means "may be left out": a null written in the file is refused.
        if value is None:
            _number(value) if info.field_name == "fillValue" else _seconds(value)
        return value

    @field_validator("fillOption", mode="before")
    @classmethod
    def _option_given(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("None is not one of LAST_VALUE, NONE, STATIC")
        return value

    @model_validator(mode="after")
    def _timer_has_no_delay(self) -> Signal:
        if self.aggregationMethod == "EVENT_TIMER" and self.aggregationDelay is not None:
            raise ValueError("EVENT_TIMER takes aggregationTimer, not aggregationDelay")
        return self

    def graphql_input(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class Expiration(_Model):
    """What happens when the signal stops (AlertsNrqlConditionExpirationInput)."""

    expirationDuration: Seconds
    openViolationOnExpiration: StrictBool
    closeViolationsOnExpiration: StrictBool


_DEFAULT_EXPIRATION: dict[str, Any] = {
    "expirationDuration": None,
    "openViolationOnExpiration": False,
    "closeViolationsOnExpiration": False,
}


def _fill_in(text: str, placeholders: dict[str, str]) -> str:
    try:
        query = Template(text).substitute(placeholders)
    except KeyError as error:
        raise ValueError(
            f"unknown placeholder ${{{error.args[0]}}} (known: "
            f"{', '.join('${' + name + '}' for name in sorted(placeholders))})"
        ) from None
    except ValueError as error:
        raise ValueError(f"{error} (write $$ for a literal $)") from None
    if not re.match(r"(?i)^(SELECT|FROM)\s", query):
        raise ValueError("a NRQL query starts with SELECT or FROM")
    return query


class Condition(_Model):
    """One NRQL static condition, its placeholders filled in (validate it with the context
    {"placeholders": {"app_prefix": ..., "cluster": ...}})."""

    key: Key
    name: Text
    prometheus_alert: Text = Field(alias="prometheusAlert")
    service: Literal["api", "recipe-engine", "realtime"]
    description: Text
    nrql: Text
    signal: Signal
    term: Term
    expiration: Expiration | None = None

    @field_validator("nrql")
    @classmethod
    def _placeholders(cls, nrql: str, info: ValidationInfo) -> str:
        context = info.context or {}
        placeholders = context.get(
            "placeholders", {"app_prefix": DEFAULT_APP_PREFIX, "cluster": DEFAULT_CLUSTER}
        )
        return _fill_in(nrql, placeholders)

    @model_validator(mode="after")
    def _whole_windows(self) -> Condition:
        duration, window = self.term.thresholdDuration, self.signal.aggregationWindow
        if duration < window or duration % window:
            raise ValueError(
                f"term.thresholdDuration of {duration} s must be a multiple of the aggregation "
                f"window ({window} s)"
            )
        return self

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
            "terms": [self.term.model_dump()],
            "signal": self.signal.graphql_input(),
            "expiration": (
                self.expiration.model_dump() if self.expiration else dict(_DEFAULT_EXPIRATION)
            ),
            "violationTimeLimitSeconds": VIOLATION_TIME_LIMIT_SECONDS,
        }
        if runbook_url:
            body["runbookUrl"] = f"{runbook_url}#{self.key}"
        return body


class Policy(_Model):
    name: Text
    incidentPreference: Literal["PER_POLICY", "PER_CONDITION", "PER_CONDITION_AND_TARGET"]


class Plan(_Model):
    """The whole of alerts.yaml."""

    policy: Policy
    conditions: tuple[Condition, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Plan:
        for attribute in ("key", "name", "prometheus_alert"):
            values = [getattr(c, attribute) for c in self.conditions]
            duplicates = sorted({v for v in values if values.count(v) > 1})
            if duplicates:
                raise ValueError(f"two conditions share a {attribute}: {', '.join(duplicates)}")
        return self

    @property
    def policy_name(self) -> str:
        return self.policy.name

    @property
    def incident_preference(self) -> str:
        return self.policy.incidentPreference


# --- loading --------------------------------------------------------------------------------------


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
    context = {"placeholders": {"app_prefix": app_prefix, "cluster": cluster}}
    try:
        return Plan.model_validate(document, context=context)
    except ValidationError as error:
        complaints = [_complaint(e, document, path) for e in error.errors(include_url=False)]
        raise ConfigError("; ".join(dict.fromkeys(complaints))) from None


def _complaint(error: ErrorDetails, document: Any, path: Path) -> str:
    """One validation error as the file's reader needs it: where, then what."""
    loc, kind = tuple(error["loc"]), error["type"]
    if kind in ("missing", "extra_forbidden"):
        where = _where(loc[:-1], kind, document, path)
        return f"{where}: {'missing' if kind == 'missing' else 'unknown'} {loc[-1]}"
    where = _where(loc, kind, document, path)
    if kind == "value_error":
        message = str(error.get("ctx", {}).get("error", error["msg"]))
        return f"{where}: {message}" if loc else message
    if kind == "literal_error":
        allowed = sorted(re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", ""))))
        return f"{where}: {error['input']!r} is not one of {', '.join(allowed)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{where}: expected a mapping, got {type(error['input']).__name__}"
    if kind in ("tuple_type", "too_short") and loc == ("conditions",):
        return "conditions: expected a non-empty list"
    if kind == "bool_type":
        return f"{where}: expected true or false"
    return f"{where}: {error['msg']}"


def _where(loc: tuple[int | str, ...], kind: str, document: Any, path: Path) -> str:
    """`policy.name`, `conditions[2]` (the shape of an item, its key) or `condition <key>.term`
    (anything else once the item has a valid key)."""
    if not loc:
        return str(path)
    if loc[0] == "conditions" and len(loc) > 1 and isinstance(loc[1], int):
        index, rest = loc[1], loc[2:]
        key = _raw_key(document, index)
        shape = not rest and kind != "value_error"
        head = (
            f"conditions[{index}]"
            if key is None or shape or rest == ("key",)
            else (f"condition {key}")
        )
        return head + "".join(f".{part}" for part in rest)
    return ".".join(str(part) for part in loc)


def _raw_key(document: Any, index: int) -> str | None:
    try:
        key = document["conditions"][index]["key"]
    except (TypeError, KeyError, IndexError):
        return None
    if not isinstance(key, str) or not _KEY.match(" ".join(key.split())):
        return None
    return " ".join(key.split())
