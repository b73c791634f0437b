"""New Relic, in one place: started once per process from the environment, off and silent
without a licence key (the agent is not even imported then).

Distributed tracing across the asynchronous hops, with the agent's public API (it has no
aio-pika hook): the api puts the trace headers on each message it enqueues (`trace_headers`),
the engine runs each message as a message transaction that accepts them
(`message_transaction`), carries the context into the events it publishes (`trace_headers`
again), and realtime records each delivery as a background transaction that accepts the
event's headers (`background_transaction`). Log lines carry the trace and span ids
(`linking_metadata`), so that New Relic's logs in context join them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

_agent: Any = None  # the newrelic.agent module, once started
_application: Any = None


def _enabled_by_environment() -> bool:
    developer_mode = os.environ.get("NEW_RELIC_DEVELOPER_MODE", "").lower() in ("1", "true")
    return bool(os.environ.get("NEW_RELIC_LICENSE_KEY")) or developer_mode


def start_agent(service: str, environment: str = "development") -> bool:
    """Start the agent if a licence key is set (or developer mode, for tests). Idempotent."""
    global _agent, _application
    if _agent is not None:
        return True
    if not _enabled_by_environment():
        log.info("New Relic agent off: NEW_RELIC_LICENSE_KEY is not set", extra={"agent": "off"})
        return False
    os.environ.setdefault("NEW_RELIC_APP_NAME", f"pantry-{service}")
    os.environ.setdefault("NEW_RELIC_LABELS", f"environment:{environment};service:{service}")
    os.environ.setdefault("NEW_RELIC_DISTRIBUTED_TRACING_ENABLED", "true")
    # The cluster's log shipper forwards stdout; the agent must not send the lines again.
    os.environ.setdefault("NEW_RELIC_APPLICATION_LOGGING_FORWARDING_ENABLED", "false")
    import newrelic.agent

    newrelic.agent.initialize()
    developer_mode = os.environ.get("NEW_RELIC_DEVELOPER_MODE", "").lower() in ("1", "true")
    # Never hold start-up for the collector, except in developer mode (no network at all).
    _application = newrelic.agent.register_application(timeout=5.0 if developer_mode else 0.0)
    _agent = newrelic.agent
    log.info(
        "New Relic agent on",
        extra={"agent": "on", "app_name": os.environ["NEW_RELIC_APP_NAME"]},
    )
    return True


def agent_active() -> bool:
    return _agent is not None


def trace_headers() -> dict[str, str]:
    """W3C and New Relic trace headers of the current transaction, to put on a message."""
    if _agent is None:
        return {}
    headers: list[tuple[str, str]] = []
    _agent.insert_distributed_trace_headers(headers)
    return dict(headers)


def _text_headers(headers: Mapping[str, Any] | None) -> dict[str, str]:
    if not headers:
        return {}
    return {
        str(k): v.decode() if isinstance(v, bytes) else str(v)
        for k, v in headers.items()
        if str(k).lower() in ("traceparent", "tracestate", "newrelic")
    }


@contextmanager
def message_transaction(queue: str, headers: Mapping[str, Any] | None) -> Iterator[None]:
    """Run the block as a RabbitMQ message transaction that continues the producer's trace."""
    if _agent is None:
        yield
        return
    carried = _text_headers(headers)
    with _agent.MessageTransaction(
        library="RabbitMQ",
        destination_type="Queue",
        destination_name=queue,
        application=_application,
        headers=carried,
    ):
        if carried:
            _agent.accept_distributed_trace_headers(carried, transport_type="AMQP")
        yield


@contextmanager
def background_transaction(
    name: str, group: str, headers: Mapping[str, Any] | None = None
) -> Iterator[None]:
    """Run the block as a background transaction, continuing a trace when headers are given."""
    if _agent is None:
        yield
        return
    carried = _text_headers(headers)
    with _agent.BackgroundTask(_application, name=name, group=group):
        if carried:
            _agent.accept_distributed_trace_headers(carried, transport_type="Other")
        yield


def notice_error(error: BaseException, **attributes: Any) -> None:
    """Report an error with its context (request or message) to the current transaction."""
    if _agent is not None:
        _agent.notice_error((type(error), error, error.__traceback__), attributes=attributes)


def wrap_asgi(app: Any) -> Any:
    """The whole ASGI application as one web transaction per request, outermost, so that the
    access log line and a cache hit answered before routing are inside it too."""
    if _agent is None:
        return app
    return _agent.ASGIApplicationWrapper(app)


def ignore_transaction() -> None:
    """Leave the current transaction out of APM: probes and scrapes are most of an idle
    service's requests, and none of them is worth the ingest."""
    if _agent is not None:
        _agent.ignore_transaction()


def linking_metadata() -> dict[str, str]:
    """The trace and span ids of the current transaction, for log lines."""
    if _agent is None:
        return {}
    metadata = _agent.get_linking_metadata()
    return {key: metadata[key] for key in ("trace.id", "span.id") if metadata.get(key)}
