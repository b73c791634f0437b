"""JSON logs: one object per line, with the service name on every line."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import orjson

from ._telemetry import linking_metadata

# What every LogRecord has; anything else on a record came from `extra=` and is logged too.
_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


# Fields of the request or message being handled (request_id, message_id), for every line.
_context: ContextVar[dict[str, Any] | None] = ContextVar("pantry_log_context", default=None)

# user:password@ in any URL, and key=value secrets: never written to a log line.
_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s:]*:[^/@\s]+@", re.I)
_SECRET_FIELDS = re.compile(r"(?i)(password|passwd|secret|token|license_key|api_key)=([^&\s]+)")


def scrub(text: str) -> str:
    """The text without credentials in URLs or secret-looking key=value pairs."""
    if "@" in text:
        text = _CREDENTIALS.sub(r"\g<scheme>***@", text)
    if "=" in text:
        text = _SECRET_FIELDS.sub(r"\1=***", text)
    return text


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add fields (request_id, message_id...) to every log line written inside the block."""
    current = _context.get() or {}
    token = _context.set({**current, **fields})
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, service and the `extra` fields.

    Written with orjson: the access log runs once per request, so it has to be cheap.
    """

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        context = _context.get()
        if context:
            body.update(context)
        for key, value in record.__dict__.items():
            if key not in _RESERVED:
                body[key] = scrub(value) if isinstance(value, str) else value
        body.update(linking_metadata())
        if record.exc_info:
            body["exception"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(body, default=lambda v: scrub(repr(v))).decode()


class _ServiceFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route every logger (ours, uvicorn's, the libraries') through one JSON handler."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_ServiceFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Requests are logged once, by the service's own middleware.
    logging.getLogger("uvicorn.access").disabled = True


def log_fields(**fields: Any) -> dict[str, Any]:
    """`extra=` for a log call, without clashing with LogRecord attributes."""
    return {"extra": fields}
