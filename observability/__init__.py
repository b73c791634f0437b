"""Pantry Chef's observability as code: New Relic alert conditions (alerts.yaml, applied by
``python -m observability.alerts``, which is ``make alerts``) and the dashboard (dashboard.json).
See docs/observability.md."""
