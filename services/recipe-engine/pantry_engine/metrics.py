"""The engine's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONSUMED = Counter(
    "pantry_engine_messages_total", "Messages handled, by queue and outcome.", ["queue", "outcome"]
)
IN_FLIGHT = Gauge("pantry_engine_messages_in_flight", "Messages being handled now.", ["queue"])
HANDLE_SECONDS = Histogram(
    "pantry_engine_message_duration_seconds",
    "Time to handle one message.",
    ["queue"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
SOURCE_SECONDS = Histogram(
    "pantry_engine_source_duration_seconds",
    "Time a source took to answer.",
    ["source"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SOURCE_FAILURES = Counter(
    "pantry_engine_source_failures_total", "Source calls that failed.", ["source", "reason"]
)
RECIPES_STORED = Counter(
    "pantry_engine_recipes_stored_total",
    "Recipes stored, by source and new or updated.",
    ["source", "kind"],
)
MESSAGE_AGE = Histogram(
    "pantry_engine_message_age_seconds",
    "How long a message waited (outbox and queue) before the engine took it.",
    ["queue"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600),
)
QUEUE_DEPTH = Gauge(
    "pantry_engine_queue_depth", "Messages ready in a queue (work, retry, dead-letter).", ["queue"]
)
QUEUE_CONSUMERS = Gauge("pantry_engine_queue_consumers", "Consumers of a queue.", ["queue"])
EVENTS_PUBLISHED = Counter(
    "pantry_engine_events_published_total", "Search events published.", ["type"]
)
REFRESHES_SKIPPED = Counter(
    "pantry_engine_refreshes_skipped_total",
    "Search refreshes taken from the queue with nothing to do: `expired` (older than the"
    " expiry and nobody watching: the search asks again next time) or `done` (the watched"
    " lane did it first).",
    ["reason"],
)
WATCHED_TAKEN = Counter(
    "pantry_engine_watched_searches_total",
    "Searches taken from the watched lane ahead of the queue, by outcome.",
    ["outcome"],
)
