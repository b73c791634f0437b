"""Producers and consumers agree: what the api enqueues is what the engine parses, and what the
engine publishes is what realtime sends and browsers read."""

from __future__ import annotations

import uuid

import asyncpg
import orjson
import pytest
from redis.asyncio import Redis

from pantry_common import (
    ENVELOPE,
    EVENT,
    CommonSettings,
    CompletedData,
    Envelope,
    Event,
    EventPublisher,
    FoodVocabulary,
    Keys,
    RecipeFound,
    RecipeImport,
    RefreshGate,
    ResultsData,
    SearchRequested,
    SourceOutcome,
    build_query,
    create_pool,
    enqueue,
    read_since,
)
from pantry_realtime.hub import Frames

from .servers import ServerUrls

pytestmark = pytest.mark.integration


async def test_the_api_refresh_request_is_what_the_engine_parses(
    database: str, servers: ServerUrls, vocab: FoodVocabulary
) -> None:
    query = build_query(
        vocab,
        q="Jollof Rice",
        have="rice, Scallions",
        exclude="peanuts",
        diet="vegan",
        max_time=60,
        cuisine="West African",
        sort="fewest_missing",
        limit=7,
    )
    pool = await create_pool(CommonSettings(), dsn=database)
    redis = Redis.from_url(servers.redis)
    keys = Keys(f"t{uuid.uuid4().hex[:10]}")
    try:
        gate = RefreshGate(pool, redis, keys, interval_seconds=60)
        assert await gate.request(query) == "refreshing"
        assert await gate.request(query) == "refreshing"
        rows = await pool.fetch("SELECT routing_key, body FROM outbox")
    finally:
        await redis.aclose()
        await pool.close()
    assert len(rows) == 1
    assert rows[0]["routing_key"] == "search.requested"
    envelope = ENVELOPE.validate_json(rows[0]["body"])  # exactly what the engine does
    payload = envelope.payload
    assert isinstance(payload, SearchRequested)
    assert str(payload.search_id) == query.search_id
    assert payload.criteria.model_dump() == query.criteria()


async def test_an_import_request_round_trips(database: str) -> None:
    message = RecipeImport.model_validate(
        {"job_id": uuid.uuid4(), "url": "https://example.com/r/1?x=%20y"}
    )
    conn = await asyncpg.connect(database)
    try:
        envelope = Envelope.wrap(message, traceparent="00-abc-def-01")
        await enqueue(conn, envelope, "recipe.import")
        body = await conn.fetchval("SELECT body FROM outbox WHERE id = $1", envelope.id)
    finally:
        await conn.close()
    parsed = ENVELOPE.validate_json(body)
    assert parsed == envelope
    assert parsed.headers == {"traceparent": "00-abc-def-01"}


async def test_engine_events_are_what_realtime_sends_and_clients_read(servers: ServerUrls) -> None:
    redis = Redis.from_url(servers.redis)
    keys = Keys(f"t{uuid.uuid4().hex[:10]}")
    search_id = uuid.uuid4()
    sent = [
        Event(
            type="search.results",
            search_id=search_id,
            data=ResultsData(
                source="catalogue",
                recipes=[RecipeFound(id=7, title="Crème Brûlée", source="catalogue", new=True)],
            ),
        ),
        Event(
            type="search.completed",
            search_id=search_id,
            data=CompletedData(
                found=1,
                new=1,
                sources={"catalogue": SourceOutcome(found=1, duration_ms=3.5)},
            ),
        ),
    ]
    try:
        ids = [await EventPublisher(redis, keys).publish(event) for event in sent]
        entries = await read_since(redis, keys, str(search_id), None)
    finally:
        await redis.aclose()
    assert [ident for ident, _ in entries] == ids
    for (ident, body), event in zip(entries, sent, strict=True):
        frames = Frames(str(search_id), ident, body)
        sse = frames.sse().decode()
        assert sse.startswith(f"id: {ident}\nevent: {event.type}\ndata: ")
        data = sse.split("data: ", 1)[1].rstrip("\n")
        assert EVENT.validate_json(data) == event
        ws = orjson.loads(frames.ws())
        assert ws["id"] == ident and ws["event"] == event.type
        assert ws["search_id"] == str(search_id)
        assert EVENT.validate_python(ws["data"]) == event
