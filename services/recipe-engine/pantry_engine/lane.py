"""The watched lane's consumer: searches someone is subscribed to, ahead of the queue.

It takes search ids that realtime pushed onto the lane (`pantry_common.take_watched`), and
does the work of the same envelope the queue holds (`SearchHandler.handle`), with slots of its
own, so that a backlog holding every queue slot cannot hold it up. Nothing is acked here: if
this fails or the engine stops, the queue's copy does the work.
"""

from __future__ import annotations

import asyncio
import logging

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from pantry_common import (
    Envelope,
    Keys,
    SearchRequested,
    background_transaction,
    log_context,
    take_watched,
)

from .handlers import SearchHandler
from .metrics import WATCHED_TAKEN

log = logging.getLogger(__name__)


class WatchedLane:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        handler: SearchHandler,
        *,
        concurrency: int,
        poll_seconds: float,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.handler = handler
        self.poll_seconds = poll_seconds
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.create_task(self._run(), name="watched-lane")

    async def stop(self, grace_seconds: float) -> None:
        """Take no more; finish what is in hand within the grace period (what is not finished
        is still in the queue)."""
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
            self._loop = None
        pending = {t for t in self._tasks if not t.done()}
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace_seconds)
            for task in late:
                task.cancel()

    async def _run(self) -> None:
        while True:
            await self._slots.acquire()
            try:
                envelope = await take_watched(self.redis, self.keys, self.poll_seconds)
            except ValidationError as exc:
                log.warning("watched lane: unreadable envelope", extra={"error": repr(exc)})
                envelope = None
            except (RedisError, OSError) as exc:
                log.warning("watched lane: redis unavailable", extra={"error": repr(exc)})
                self._slots.release()
                await asyncio.sleep(1)
                continue
            except BaseException:
                self._slots.release()
                raise
            if envelope is None:
                self._slots.release()
                continue
            task = asyncio.create_task(self._handle(envelope))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _handle(self, envelope: Envelope) -> None:
        try:
            payload = envelope.payload
            if not isinstance(payload, SearchRequested):
                WATCHED_TAKEN.labels("ignored").inc()
                return
            with (
                log_context(message_id=str(envelope.id), lane="watched"),
                background_transaction("watched search", "Engine", envelope.headers),
            ):
                try:
                    await self.handler.handle(envelope, payload)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    WATCHED_TAKEN.labels("failed").inc()
                    log.warning(
                        "watched search failed; the queue's copy will do it",
                        extra={"error": repr(exc)},
                    )
                    return
                WATCHED_TAKEN.labels("done").inc()
                log.info("watched search handled ahead of the queue")
        finally:
            self._slots.release()
