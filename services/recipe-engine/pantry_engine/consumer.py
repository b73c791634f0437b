"""A consumer ("agent") of one queue: bounded concurrency, the ack only after the handler's
work is committed, retries through the retry queue with a delay, the dead-letter queue after
the last attempt or at once for a message that cannot be parsed, and a drain on shutdown."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Protocol

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from pydantic import ValidationError

from pantry_common import (
    ENVELOPE,
    Envelope,
    dead_letter_queue,
    log_context,
    message_transaction,
    notice_error,
    retry_queue,
)

from .metrics import CONSUMED, HANDLE_SECONDS, IN_FLIGHT, MESSAGE_AGE

log = logging.getLogger(__name__)


class Handler(Protocol):
    async def __call__(self, envelope: Envelope) -> None: ...

    async def dead_lettered(self, envelope: Envelope, reason: str) -> None:
        """Called after a parseable message went to the dead-letter queue."""


class Permanent(Exception):
    """Retrying cannot help: straight to the dead-letter queue, with this reason."""


class Agent:
    def __init__(
        self,
        queue: AbstractQueue,
        channel: AbstractChannel,
        handler: Handler,
        *,
        concurrency: int,
        max_attempts: int,
        retry_delay_ms: int,
    ) -> None:
        self.queue = queue
        self.channel = channel
        self.handler = handler
        self.max_attempts = max_attempts
        self.retry_delay_ms = retry_delay_ms
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._tag: str | None = None

    @property
    def name(self) -> str:
        return self.queue.name

    @property
    def consuming(self) -> bool:
        return self._tag is not None

    async def start(self) -> None:
        self._tag = await self.queue.consume(self._on_message, no_ack=False)
        log.info("consuming", extra={"queue": self.name})

    async def stop(self, grace_seconds: float) -> None:
        """Take no more messages; finish those in hand within the grace period. What is not
        finished is never acked, so RabbitMQ gives it to another consumer."""
        if self._tag is not None:
            await self.queue.cancel(self._tag)
            self._tag = None
        pending = {t for t in self._tasks if not t.done()}
        if pending:
            log.info("draining", extra={"queue": self.name, "in_flight": len(pending)})
            _, late = await asyncio.wait(pending, timeout=grace_seconds)
            for task in late:
                task.cancel()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        async with self._slots:
            IN_FLIGHT.labels(self.name).inc()
            started = time.perf_counter()
            if message.timestamp is not None:
                waited = datetime.now(UTC) - message.timestamp.replace(tzinfo=UTC)
                MESSAGE_AGE.labels(self.name).observe(max(waited.total_seconds(), 0.0))
            try:
                with (
                    log_context(message_id=message.message_id, queue=self.name),
                    message_transaction(self.name, message.headers),
                ):
                    outcome = await self._handle(message)
                    log.info(
                        "message handled",
                        extra={
                            "outcome": outcome,
                            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                        },
                    )
            finally:
                IN_FLIGHT.labels(self.name).dec()
                HANDLE_SECONDS.labels(self.name).observe(time.perf_counter() - started)
            CONSUMED.labels(self.name, outcome).inc()

    async def _handle(self, message: AbstractIncomingMessage) -> str:
        try:
            envelope = ENVELOPE.validate_json(message.body)
        except ValidationError as exc:
            reason = (
                f"unparseable message: {exc.error_count()} errors, first: {exc.errors()[0]['msg']}"
            )
            await self._dead_letter(message, reason)
            return "dead_lettered"
        try:
            await self.handler(envelope)
        except asyncio.CancelledError:
            raise  # shutdown past the grace period: not acked, redelivered elsewhere
        except Permanent as exc:
            await self._dead_letter(message, str(exc), envelope)
            return "dead_lettered"
        except Exception as exc:
            notice_error(exc, message_id=str(message.message_id), queue=self.name)
            return await self._retry(message, exc, envelope)
        await message.ack()
        return "done"

    def _attempt(self, message: AbstractIncomingMessage) -> int:
        value = (message.headers or {}).get("x-attempt", 1)
        return value if isinstance(value, int) and value > 0 else 1

    async def _republish(
        self,
        message: AbstractIncomingMessage,
        queue: str,
        *,
        headers: dict[str, str | int],
        delay_ms: int | None = None,
    ) -> None:
        copy = aio_pika.Message(
            message.body,
            message_id=message.message_id,
            type=message.type,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers={**(message.headers or {}), **headers},
            expiration=delay_ms / 1000 if delay_ms is not None else None,
        )
        # Confirmed before the original is acked: a message is never lost between the two.
        await self.channel.default_exchange.publish(copy, routing_key=queue, timeout=10)
        await message.ack()

    async def _retry(
        self, message: AbstractIncomingMessage, exc: Exception, envelope: Envelope
    ) -> str:
        attempt = self._attempt(message)
        error = f"{type(exc).__name__}: {exc}"[:500]
        if attempt >= self.max_attempts:
            await self._dead_letter(message, f"failed {attempt} times; last: {error}", envelope)
            return "dead_lettered"
        log.warning(
            "message failed, will retry",
            extra={
                "queue": self.name,
                "message_id": message.message_id,
                "attempt": attempt,
                "error": error,
            },
        )
        # The delay doubles with each attempt, up to a minute.
        delay = min(self.retry_delay_ms * 2 ** (attempt - 1), 60_000)
        await self._republish(
            message,
            retry_queue(self.name),
            delay_ms=max(delay, 1),
            headers={"x-attempt": attempt + 1, "x-last-error": error},
        )
        return "retried"

    async def _dead_letter(
        self, message: AbstractIncomingMessage, reason: str, envelope: Envelope | None = None
    ) -> None:
        log.error(
            "message dead-lettered",
            extra={"queue": self.name, "message_id": message.message_id, "reason": reason},
        )
        await self._republish(
            message, dead_letter_queue(self.name), headers={"x-death-reason": reason[:1000]}
        )
        if envelope is not None:
            try:
                await self.handler.dead_lettered(envelope, reason)
            except Exception as exc:  # best effort: the message itself is safe in the DLQ
                log.warning("dead-letter follow-up failed", extra={"error": repr(exc)})
