"""Validate custom resources offline against the OpenAPI schemas of their CRDs.

What the API server would do, as far as it can be done without one:
- the structural schema of the served version (jsonschema);
- unknown fields are errors (the API server would silently prune them: a typo'd field in a
  VirtualService would vanish without a word);
- the CEL rules (`x-kubernetes-validations`), evaluated with cel-python; transition rules
  (`oldSelf`) need an old object and are skipped.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import celpy
import yaml
from celpy.adapter import json_to_cel
from jsonschema import Draft7Validator

Schema = dict[str, Any]

try:
    _Loader: type[yaml.SafeLoader | yaml.CSafeLoader] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader


def _strict(schema: Any) -> Any:
    """A copy of an OpenAPI v3 schema that refuses unknown fields and knows `nullable`."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


@dataclass
class CrdVersion:
    kind: str
    api_version: str
    spec_schema: Schema
    validator: Draft7Validator


class CrdValidator:
    def __init__(self, *crd_files: Path) -> None:
        self.versions: dict[tuple[str, str], CrdVersion] = {}
        self._cel = celpy.Environment()
        self._programs: dict[str, Any] = {}
        crds = (c for f in crd_files for c in yaml.load_all(f.read_text(), Loader=_Loader))
        for crd in crds:
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if not version.get("served"):
                    continue
                root = version["schema"]["openAPIV3Schema"]
                spec = _strict(copy.deepcopy(root["properties"].get("spec", {"type": "object"})))
                api_version = f"{group}/{version['name']}"
                self.versions[(api_version, kind)] = CrdVersion(
                    kind, api_version, spec, Draft7Validator(spec)
                )

    def knows(self, obj: dict[str, Any]) -> bool:
        return (obj.get("apiVersion"), obj.get("kind")) in self.versions

    def errors(self, obj: dict[str, Any]) -> list[str]:
        version = self.versions[(obj["apiVersion"], obj["kind"])]
        found: list[str] = []
        metadata = obj.get("metadata") or {}
        if not metadata.get("name"):
            found.append("metadata.name is missing")
        extra = sorted(set(obj) - {"apiVersion", "kind", "metadata", "spec"})
        if extra:
            found.append(f"unknown top-level fields {extra}")
        spec = obj.get("spec", {})
        for error in version.validator.iter_errors(spec):
            path = ".".join(str(p) for p in error.absolute_path)
            found.append(f"spec.{path}: {error.message}")
        self._check_rules(version.spec_schema, spec, "spec", found)
        return found

    def _program(self, rule: str) -> Any:
        if rule not in self._programs:
            self._programs[rule] = self._cel.program(self._cel.compile(rule))
        return self._programs[rule]

    def _check_rules(self, schema: Schema, value: Any, path: str, found: list[str]) -> None:
        for validation in schema.get("x-kubernetes-validations", []) or []:
            rule = validation["rule"]
            if "oldSelf" in rule:
                continue
            try:
                ok = self._program(rule).evaluate({"self": json_to_cel(value)})
            except Exception as error:  # a CEL error is a failed rule at the API server too
                ok = False
                rule = f"{rule} ({type(error).__name__})"
            if not bool(ok):
                found.append(f"{path}: {validation.get('message', 'CEL rule failed')}: {rule}")
        if isinstance(value, dict):
            properties = schema.get("properties", {})
            for key, item in value.items():
                if key in properties:
                    self._check_rules(properties[key], item, f"{path}.{key}", found)
                elif isinstance(schema.get("additionalProperties"), dict):
                    self._check_rules(schema["additionalProperties"], item, f"{path}.{key}", found)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                self._check_rules(schema["items"], item, f"{path}[{index}]", found)
