"""Realtime's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONNECTIONS = Gauge("pantry_realtime_connections", "Open client connections.", ["kind"])
DELIVERED = Counter("pantry_realtime_events_delivered_total", "Events queued to clients.", ["kind"])
DROPPED = Counter(
    "pantry_realtime_clients_dropped_total", "Clients closed for falling behind.", ["kind"]
)
RECEIVED = Counter("pantry_realtime_events_received_total", "Events received from Redis.")
REDIS_RECONNECTS = Counter("pantry_realtime_redis_reconnects_total", "Redis resubscriptions.")
DELIVERY_LAG = Histogram(
    "pantry_realtime_delivery_lag_seconds",
    "From the event's creation by the engine to its queueing for the clients.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
FANOUT_SECONDS = Histogram(
    "pantry_realtime_fanout_seconds",
    "Time to queue one event to all its subscribers.",
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5),
)
