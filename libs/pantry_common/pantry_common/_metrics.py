"""Prometheus metrics shared by the services (the default registry, one per process)."""

from __future__ import annotations

import asyncio

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

HTTP_LATENCY = Histogram(
    "pantry_http_request_duration_seconds",
    "HTTP request latency by route template, method and status.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CACHE_RESULTS = Counter(
    "pantry_search_cache_total",
    "Search responses by cache outcome (hit, miss, bypass).",
    ["result"],
)


OUTBOX_PUBLISHED = Counter(
    "pantry_outbox_published_total", "Messages relayed from the outbox to RabbitMQ (confirmed)."
)
OUTBOX_PENDING = Gauge("pantry_outbox_pending", "Messages in the outbox, not yet confirmed.")
OUTBOX_OLDEST_AGE = Gauge(
    "pantry_outbox_oldest_age_seconds", "Age of the oldest message waiting in the outbox."
)


async def metrics_payload() -> tuple[bytes, str]:
    """The exposition, rendered off the event loop (collectors read /proc)."""
    return await asyncio.to_thread(generate_latest), CONTENT_TYPE_LATEST
