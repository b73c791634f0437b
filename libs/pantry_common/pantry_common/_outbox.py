"""The transactional outbox: a message is accepted once it is in PostgreSQL, and relayed to
RabbitMQ with publisher confirms whenever RabbitMQ is there. Nothing accepted is lost; a message
may be delivered twice (a crash between the confirm and the delete), and consumers are idempotent
on the message id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractRobustConnection
from prometheus_client import Counter, Gauge

from ._messages import Envelope
from ._rabbit import EXCHANGE, declare_topology

OUTBOX_PUBLISHED = Counter(
    "pantry_outbox_published_total", "Messages relayed from the outbox to RabbitMQ (confirmed)."
)
OUTBOX_PENDING = Gauge("pantry_outbox_pending", "Messages in the outbox, not yet confirmed.")
OUTBOX_OLDEST_AGE = Gauge(
    "pantry_outbox_oldest_age_seconds", "Age of the oldest message waiting in the outbox."
)

log = logging.getLogger(__name__)


async def enqueue(conn: Any, envelope: Envelope, routing_key: str) -> None:
    """Accept a message: insert it in the caller's transaction."""
    await conn.execute(
        "INSERT INTO outbox (id, routing_key, body) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        envelope.id,
        routing_key,
        envelope.model_dump_json().encode(),
    )


class OutboxRelay:
    """Moves outbox rows to RabbitMQ. One per process; safe with many processes (SKIP LOCKED)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        rabbitmq_url: str,
        *,
        batch: int = 100,
        poll_seconds: float = 1.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.pool = pool
        self.rabbitmq_url = rabbitmq_url
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.connect_timeout = connect_timeout
        self.connection: AbstractRobustConnection | None = None
        self.connected = asyncio.Event()
        self._link_up = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    def wake(self) -> None:
        """Something was enqueued: relay now rather than at the next poll."""
        self._wake.set()

    @property
    def rabbitmq_up(self) -> bool:
        return self._link_up

    def _track(self, connection: AbstractRobustConnection) -> None:
        """Follow the link: robust connections reconnect by themselves, quietly."""

        def down(*_: object) -> None:
            self._link_up = False

        def up(*_: object) -> None:
            self._link_up = True

        connection.close_callbacks.add(down)
        connection.reconnect_callbacks.add(up)
        self._link_up = not connection.is_closed

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.connection is not None:
            await self.connection.close()

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                if self.connection is None:
                    self.connection = await aio_pika.connect_robust(
                        self.rabbitmq_url, timeout=self.connect_timeout
                    )
                    self._track(self.connection)
                channel = await self.connection.channel(
                    publisher_confirms=True, on_return_raises=True
                )
                topology = await declare_topology(channel)
                self.connected.set()
                delay = 0.5
                while True:
                    sent = await self.relay_once(topology.exchange)
                    if sent < self.batch:
                        self._wake.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # RabbitMQ or PostgreSQL away: keep the rows, try again
                self.connected.clear()
                log.warning("outbox relay waiting", extra={"error": repr(exc), "retry_s": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def relay_once(self, exchange: aio_pika.abc.AbstractExchange) -> int:
        """Publish one batch with confirms and delete what RabbitMQ confirmed."""
        failure: Exception | None = None
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT id, routing_key, body FROM outbox ORDER BY created_at
                   LIMIT $1 FOR UPDATE SKIP LOCKED""",
                self.batch,
            )
            done = []
            for row in rows:
                envelope = Envelope.model_validate_json(row["body"])
                message = aio_pika.Message(
                    bytes(row["body"]),
                    message_id=str(row["id"]),
                    type=envelope.type,
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    timestamp=envelope.occurred_at,
                    headers=dict(envelope.headers),
                )
                try:
                    await exchange.publish(message, routing_key=row["routing_key"], timeout=10)
                except Exception as exc:  # keep this row and the rest; commit what was confirmed
                    failure = exc
                    break
                done.append(row["id"])
            if done:
                await conn.execute("DELETE FROM outbox WHERE id = ANY($1::uuid[])", done)
                self.published += len(done)
                OUTBOX_PUBLISHED.inc(len(done))
            waiting = await conn.fetchrow(
                "SELECT count(*) AS n, "
                "coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age FROM outbox"
            )
            if waiting is not None:
                OUTBOX_PENDING.set(waiting["n"])
                OUTBOX_OLDEST_AGE.set(float(waiting["age"]))
        if failure is not None:
            raise failure
        return len(rows)


__all__ = ["EXCHANGE", "OutboxRelay", "enqueue"]
