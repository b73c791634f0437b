"""Tests of observability/: the alert conditions, `make alerts` against a fake NerdGraph,
the dashboard."""
