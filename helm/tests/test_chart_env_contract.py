"""Every environment variable a service reads is set by the chart or has a default that is safe
in a cluster, every PANTRY_* variable the chart sets is read by the service (a typo'd name would
be silently ignored), and the settings classes accept what the chart gives them: a pod does
not crash on its first start for a missing or malformed setting.

The names come from the services' pydantic settings classes themselves. A class that cannot be
imported fails its test (it does not skip): the chart cannot be checked against it.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import pytest
from chart_render import RELEASE, SCENARIOS, Obj, one, render
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

COMMON = "pantry_common:CommonSettings"

#: The settings classes each workload reads (`module:Class`).
SETTINGS: dict[str, list[str]] = {
    "api": [COMMON, "pantry_api.settings:ApiSettings"],
    "recipe-engine": [COMMON, "pantry_engine.settings:EngineSettings"],
    "realtime": [COMMON, "pantry_realtime.settings:RealtimeSettings"],
}

#: Defaults that are never right in a cluster, whatever their value.
UNSAFE_ANYWHERE = {"PANTRY_ENVIRONMENT"}
UNSAFE_TEXT = ("127.0.0.1", "localhost", "::1")

#: Stand-ins for the Secret's values, with passwords that are not placeholders.
SECRET_VALUES = {
    "database-url": "postgresql://pantry:Pr0d-like-pw@postgresql.pantry-infra:5432/pantry",
    # production.yaml: the engine's own URL, its IAM database user through the Auth Proxy.
    "engine-database-url": "postgresql://pantry-engine%40pantry-chef-prod.iam@127.0.0.1:5432/pantry",
    "redis-url": "redis://:Pr0d-like-pw@redis-master.pantry-infra:6379/0",
    "rabbitmq-url": "amqp://pantry:Pr0d-like-pw@rabbitmq.pantry-infra:5672/",
}


def load(target: str) -> type[BaseSettings]:
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        pytest.fail(
            f"{target}: cannot import {module_name} ({error}). The chart's environment cannot be "
            f"checked against this service's settings until the module exists."
        )
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseSettings)):
        pytest.fail(f"{target}: {module_name} has no pydantic-settings class {class_name}")
    return cls


def env_names(cls: type[BaseSettings]) -> dict[str, Any]:
    """Environment variable name -> the field's FieldInfo."""
    prefix = cls.model_config.get("env_prefix", "")
    names: dict[str, Any] = {}
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias or field.alias
        if isinstance(alias, str):
            choices = [alias]
        elif isinstance(alias, AliasChoices):
            choices = [c for c in alias.choices if isinstance(c, str)]
        else:
            choices = [f"{prefix}{field_name}"]
        for name in choices:
            names[name.upper()] = field
    return names


def workload_env(objects: list[Obj], kind: str, name: str) -> tuple[dict[str, str], set[str]]:
    """(variables with a value, variables that may be unset) of a workload's first container."""
    workload = one(objects, kind, name)
    container = workload["spec"]["template"]["spec"]["containers"][0]
    values: dict[str, str] = {}
    maybe: set[str] = set()
    for source in container.get("envFrom", []):
        config_map = one(objects, "ConfigMap", source["configMapRef"]["name"])
        values.update(config_map["data"])
    for entry in container.get("env", []):
        if "value" in entry:
            values[entry["name"]] = entry["value"]
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            if ref.get("optional"):
                maybe.add(entry["name"])
            else:
                values[entry["name"]] = SECRET_VALUES.get(ref["key"], "secret-value")
    # Empty values count as unset (the settings use env_ignore_empty=True).
    return {k: v for k, v in values.items() if v != ""}, maybe


def workloads(service: str) -> list[tuple[str, str]]:
    found = [("Deployment", f"{RELEASE}-{service}")]
    if service == "api":  # the migration and seed Jobs run the api image with its settings
        found.append(("Job", f"{RELEASE}-migrations-migrate"))
    return found


@pytest.mark.parametrize("scenario_name", ["default", "local", "production"])
@pytest.mark.parametrize("service", list(SETTINGS))
def test_environment_matches_the_settings(
    service: str, scenario_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    classes = [load(target) for target in SETTINGS[service]]
    read: dict[str, Any] = {}
    for cls in classes:
        read.update(env_names(cls))
    objects = render(*SCENARIOS[scenario_name])
    for kind, name in workloads(service):
        values, maybe = workload_env(objects, kind, name)
        where = f"{scenario_name}: {kind}/{name}"

        missing = []
        for env, field in sorted(read.items()):
            if env in values:
                continue
            if field.is_required():
                missing.append(f"{env} (required)")
                continue
            default = field.get_default(call_default_factory=True)
            if env in UNSAFE_ANYWHERE or any(t in str(default) for t in UNSAFE_TEXT):
                missing.append(f"{env} (default {default!r} is wrong in a cluster)")
        assert not missing, f"{where}: the chart must set " + ", ".join(missing)

        unknown = sorted(
            env for env in set(values) | maybe if env.startswith("PANTRY_") and env not in read
        )
        assert not unknown, f"{where}: set by the chart but read by no settings class: {unknown}"

        # The settings accept exactly what the pod would get.
        for env in list(os.environ):
            if env.startswith(("PANTRY_", "NEW_RELIC_")):
                monkeypatch.delenv(env)
        for env, value in values.items():
            monkeypatch.setenv(env, value)
        for cls in classes:
            try:
                cls()
            except Exception as error:  # pydantic's ValidationError, or a validator's ValueError
                pytest.fail(f"{where}: {cls.__name__} refuses the chart's environment: {error}")


def test_the_listen_address_is_every_interface() -> None:
    """The services default to 127.0.0.1 outside a container: in a pod that is unreachable."""
    objects = render(*SCENARIOS["default"])
    for service, prefix in (("api", "API"), ("recipe-engine", "ENGINE"), ("realtime", "REALTIME")):
        values, _ = workload_env(objects, "Deployment", f"{RELEASE}-{service}")
        assert values[f"PANTRY_{prefix}_HOST"] == "0.0.0.0"


def test_a_missing_settings_module_fails_loudly() -> None:
    with pytest.raises(pytest.fail.Exception, match="cannot import pantry_missing.settings"):
        load("pantry_missing.settings:MissingSettings")
    with pytest.raises(pytest.fail.Exception, match="has no pydantic-settings class"):
        load("pantry_common:NoSuchSettings")


@pytest.mark.parametrize("scenario_name", ["default", "local", "production"])
@pytest.mark.parametrize("service", list(SETTINGS))
def test_shutdown_fits_in_the_grace_period(service: str, scenario_name: str) -> None:
    """A service's own shutdown grace (drain) ends before Kubernetes' SIGKILL."""
    objects = render(*SCENARIOS[scenario_name])
    deployment = one(objects, "Deployment", f"{RELEASE}-{service}")
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    values, _ = workload_env(objects, "Deployment", f"{RELEASE}-{service}")
    for target in SETTINGS[service]:
        for env, field in env_names(load(target)).items():
            if env.endswith("_SHUTDOWN_GRACE_SECONDS"):
                seconds = float(values.get(env, field.get_default(call_default_factory=True)))
                assert seconds + 5 <= grace, f"{env}={seconds} leaves no margin before {grace}s"
