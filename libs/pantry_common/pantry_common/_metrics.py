"""The Prometheus exposition every service serves (the default registry, one per process).

Each service declares its own metrics in its own `metrics` module; the outbox's are with it.
"""

from __future__ import annotations

import asyncio

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


async def metrics_payload() -> tuple[bytes, str]:
    """The exposition, rendered off the event loop (collectors read /proc)."""
    return await asyncio.to_thread(generate_latest), CONTENT_TYPE_LATEST
