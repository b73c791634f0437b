"""The api's Prometheus metrics (served at `/metrics` with the outbox relay's)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_LATENCY = Histogram(
    "pantry_http_request_duration_seconds",
    "HTTP request latency by route template, method and status.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CACHE_RESULTS = Counter(
    "pantry_search_cache_total",
    "Search responses by cache outcome (hit, delta, miss, bypass).",
    ["result"],
)
RATE_LIMITED = Counter(
    "pantry_rate_limited_total",
    "Requests refused with a 429 by the per-client limit, by kind of route (search, import).",
    ["kind"],
)
RATE_LIMIT_FAIL_OPEN = Counter(
    "pantry_rate_limit_fail_open_total",
    "Requests let through unchecked because Redis could not be asked (down, slow, or in the "
    "cooldown after a failure), by kind of route.",
    ["kind"],
)
for _kind in ("search", "import"):  # shown at 0 before the first one
    RATE_LIMITED.labels(_kind)
    RATE_LIMIT_FAIL_OPEN.labels(_kind)
