"""The errors of `make alerts`: each carries the exit code the command line returns."""

from __future__ import annotations


class AlertsError(Exception):
    """Something `make alerts` cannot do; the message says what and how to fix it."""

    exit_code = 1


class ConfigError(AlertsError):
    """alerts.yaml or the environment is wrong: nothing was sent."""

    exit_code = 2


class NerdGraphError(AlertsError):
    """NerdGraph refused or failed a request."""
