"""Wiring: the pools and connections, the topology, the sources, the agents, the HTTP side,
and an orderly shutdown (stop taking messages, finish those in hand, close)."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import AsyncExitStack

import aio_pika
import httpx
import uvicorn
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from pantry_common import (
    IMPORT_QUEUE,
    SEARCH_QUEUE,
    ChangeAnnouncer,
    CommonSettings,
    EventPublisher,
    FoodVocabulary,
    Keys,
    configure_logging,
    create_pool,
    create_redis,
    dead_letter_queue,
    declare_topology,
    retry_queue,
    start_agent,
)

from .consumer import Agent
from .handlers import Deps, ImportHandler, SearchHandler
from .http import QuietServer, health_app
from .lane import WatchedLane
from .metrics import QUEUE_CONSUMERS, QUEUE_DEPTH
from .settings import EngineSettings
from .sources import CatalogueSource, Source, TheMealDbSource, WebPageSource

log = logging.getLogger("pantry_engine")


async def _connect(url: str, wait_seconds: float) -> aio_pika.abc.AbstractRobustConnection:
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type((OSError, aio_pika.exceptions.AMQPConnectionError)),
        wait=wait_exponential(multiplier=0.2, max=3),
        stop=stop_after_delay(wait_seconds),
        reraise=True,
    ):
        with attempt:
            return await aio_pika.connect_robust(url, timeout=5)
    raise AssertionError("unreachable")  # pragma: no cover


async def watch_queues(
    connection: aio_pika.abc.AbstractRobustConnection, every: float = 15.0
) -> None:
    """Depth and consumers of every queue, for the metrics and the alerts."""
    names = [
        n for q in (SEARCH_QUEUE, IMPORT_QUEUE) for n in (q, retry_queue(q), dead_letter_queue(q))
    ]
    while True:
        try:
            channel = await connection.channel()
            try:
                for name in names:
                    queue = await channel.declare_queue(name, passive=True)
                    result = queue.declaration_result
                    QUEUE_DEPTH.labels(name).set(result.message_count or 0)
                    QUEUE_CONSUMERS.labels(name).set(result.consumer_count or 0)
            finally:
                await channel.close()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # RabbitMQ away: the gauges keep their last values
            log.warning("queue watch failed", extra={"error": repr(exc)})
        await asyncio.sleep(every)


def build_sources(
    settings: EngineSettings, client: httpx.AsyncClient, vocab: FoodVocabulary
) -> tuple[list[Source], WebPageSource]:
    web = WebPageSource(
        client,
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
        allow_private=settings.allow_private_urls,
    )
    sources: list[Source] = []
    for name in settings.enabled_sources:
        if name == "catalogue":
            sources.append(CatalogueSource(settings.catalogue_url, client, vocab))
        elif name == "themealdb":
            sources.append(TheMealDbSource(settings.themealdb_url, settings.themealdb_key, client))
    return sources, web


async def run(common: CommonSettings, settings: EngineSettings, stop: asyncio.Event) -> None:
    vocab = FoodVocabulary.default()
    async with AsyncExitStack() as stack:
        pool = await create_pool(common, wait_seconds=60)
        stack.push_async_callback(pool.close)
        redis = create_redis(common)
        stack.push_async_callback(redis.aclose)
        connection = await _connect(str(common.rabbitmq_url), wait_seconds=60)
        stack.push_async_callback(connection.close)
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await channel.set_qos(prefetch_count=settings.prefetch)
        topology = await declare_topology(channel)
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.source_timeout_seconds, connect=5),
            headers={"User-Agent": "PantryChef/0.1 (+recipe engine)"},
            limits=httpx.Limits(max_connections=50),
        )
        stack.push_async_callback(client.aclose)
        keys = Keys(common.redis_prefix)
        sources, web = build_sources(settings, client, vocab)
        deps = Deps(
            pool=pool,
            redis=redis,
            changes=ChangeAnnouncer(redis, keys),
            events=EventPublisher(redis, keys),
            keys=keys,
            vocab=vocab,
            sources=sources,
            web=web,
            source_timeout=settings.source_timeout_seconds,
            max_candidates=settings.max_candidates,
            unwatched_expiry=settings.unwatched_expiry_seconds,
        )
        searches = SearchHandler(deps)
        agents = [
            Agent(
                topology.queues[SEARCH_QUEUE],
                channel,
                searches,
                concurrency=settings.concurrency,
                max_attempts=settings.max_attempts,
                retry_delay_ms=settings.retry_delay_ms,
            ),
            Agent(
                topology.queues[IMPORT_QUEUE],
                channel,
                ImportHandler(deps),
                concurrency=settings.concurrency,
                max_attempts=settings.max_attempts,
                retry_delay_ms=settings.retry_delay_ms,
            ),
        ]

        def rabbit_up() -> bool:
            return not connection.is_closed and all(a.consuming for a in agents)

        server = QuietServer(
            uvicorn.Config(
                health_app(pool, redis, rabbit_up),
                host=settings.host,
                port=settings.port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )
        http_task = asyncio.create_task(server.serve(), name="engine-http")
        monitor = asyncio.create_task(watch_queues(connection), name="queue-monitor")
        for agent in agents:
            await agent.start()
        # A client of its own, whose socket waits out the blocking pop with room to spare.
        lane_redis = create_redis(common.model_copy(update={"redis_timeout_seconds": 3.0}))
        stack.push_async_callback(lane_redis.aclose)
        lane = WatchedLane(
            lane_redis,
            keys,
            searches,
            concurrency=settings.watched_concurrency,
            poll_seconds=1.0,
        )
        if settings.watched_concurrency:
            lane.start()
        log.info(
            "engine ready",
            extra={"sources": [s.name for s in sources], "concurrency": settings.concurrency},
        )
        await stop.wait()
        log.info("engine stopping: no new messages, finishing those in hand")
        await asyncio.gather(
            lane.stop(settings.shutdown_grace_seconds),
            *(a.stop(settings.shutdown_grace_seconds) for a in agents),
        )
        monitor.cancel()
        server.should_exit = True
        await http_task
    log.info("engine stopped")


async def _serve() -> None:
    common, settings = CommonSettings(), EngineSettings()
    configure_logging("recipe-engine", common.log_level)
    start_agent("recipe-engine", common.environment)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(common, settings, stop)


def serve() -> None:
    """The engine until SIGTERM or SIGINT: `python -m pantry_engine`."""
    asyncio.run(_serve())
