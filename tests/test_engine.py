"""The asynchronous path: api → outbox → RabbitMQ → engine → PostgreSQL, Redis and events."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, TypeVar

import aio_pika
import asyncpg
import httpx
import orjson
import pytest
from redis.asyncio import Redis

from pantry_common import (
    SEARCH_REQUESTED,
    CompletedData,
    Envelope,
    Event,
    FailedData,
    Keys,
    ResultsData,
    SearchCriteria,
    SearchRequested,
    catalogue_documents,
    dead_letter_queue,
    retry_queue,
    to_message,
)
from pantry_engine.sources.themealdb import meal_to_recipe

from .conftest import api_server, make_stack, running_engine
from .events import stream_events, wait_for_event
from .servers import ServerUrls
from .thirdparty import KOSHARI, ThirdParty

pytestmark = pytest.mark.integration

T = TypeVar("T")

FEED = list(catalogue_documents("feed"))

SEARCH = "/api/v1/recipes/search"


async def count_titles(dsn: str, title: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM recipes WHERE title = $1", title))
    finally:
        await conn.close()


async def publish(
    amqp: str, envelope: Envelope | bytes, routing_key: str = SEARCH_REQUESTED
) -> None:
    connection = await aio_pika.connect(amqp)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("pantry")
        message = (
            to_message(envelope)
            if isinstance(envelope, Envelope)
            else aio_pika.Message(envelope, message_id=str(uuid.uuid4()))
        )
        await exchange.publish(message, routing_key=routing_key)
    finally:
        await connection.close()


async def get_one(
    amqp: str, queue: str, timeout: float = 20
) -> aio_pika.abc.AbstractIncomingMessage:
    connection = await aio_pika.connect(amqp)
    try:
        channel = await connection.channel()
        q = await channel.get_queue(queue)
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            message = await q.get(no_ack=True, fail=False)
            if message is not None:
                return message
            await asyncio.sleep(0.1)
        raise AssertionError(f"nothing arrived in {queue}")
    finally:
        await connection.close()


async def finished_job(api: httpx.AsyncClient, status_url: str) -> dict[str, Any]:
    """The import job once the engine is done with it (done or failed)."""
    for _ in range(200):
        state: dict[str, Any] = (await api.get(status_url)).json()
        if state["status"] != "queued":
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"the job is still queued: {state}")


def sid(envelope: Envelope) -> str:
    assert isinstance(envelope.payload, SearchRequested)
    return str(envelope.payload.search_id)


def data_of(event: Event, kind: type[T]) -> T:
    assert isinstance(event.data, kind), event
    return event.data


def search_message(q: str) -> Envelope:
    from pantry_common import FoodVocabulary, build_query

    query = build_query(FoodVocabulary.default(), q=q)
    return Envelope.wrap(
        SearchRequested(
            search_id=uuid.UUID(query.search_id),
            criteria=SearchCriteria(**query.criteria()),
        )
    )


async def test_a_search_asks_the_engine_which_stores_refreshes_and_tells(
    database: str, servers: ServerUrls, vhost: str, redis: Redis
) -> None:
    stack = make_stack(database, servers, vhost)
    async with api_server(stack.common, stack.api) as api, running_engine(stack):
        first = (await api.get(SEARCH, params={"q": "jollof rice"})).json()
        assert first["status"] == "refreshing"
        assert first["events_url"] == f"{stack.api.events_url}?search_id={first['search_id']}"
        assert "Jollof Rice" not in [r["title"] for r in first["results"]]
        events = await wait_for_event(
            redis, stack.common.redis_prefix, first["search_id"], "search.completed"
        )
        kinds = [e.type for e in events]
        assert kinds[0] == "search.accepted" and kinds[-1] == "search.completed"
        found = [
            r for e in events if e.type == "search.results" for r in data_of(e, ResultsData).recipes
        ]
        assert "Jollof Rice" in [r.title for r in found]
        assert all(r.source == "catalogue" and r.new for r in found)
        # The api computes the answer anew (the engine stored recipes; it never writes answers),
        # then serves it from the cache.
        again = await api.get(SEARCH, params={"q": "jollof rice"})
        assert again.headers["x-cache"] == "miss"
        body = again.json()
        assert body["status"] == "complete"
        assert body["results"][0]["title"] == "Jollof Rice"
        cached = await api.get(SEARCH, params={"q": "jollof rice"})
        assert cached.headers["x-cache"] == "hit"
        assert cached.json()["status"] == "complete"
        # Asking again within the interval makes no second message.
        await api.get(SEARCH, params={"q": "jollof rice", "limit": 5})
        await asyncio.sleep(0.5)
        events_after = await stream_events(redis, stack.common.redis_prefix, first["search_id"])
        assert [e.type for e in events_after].count("search.accepted") == 1
    assert await count_titles(database, "Jollof Rice") == 1


async def test_many_users_asking_at_once_make_one_message(
    database: str, servers: ServerUrls, vhost: str
) -> None:
    stack = make_stack(database, servers, vhost)
    async with api_server(stack.common, stack.api) as api:
        params = [{"q": "egusi soup", "limit": str(n)} for n in range(1, 21)]
        responses = await asyncio.gather(*(api.get(SEARCH, params=p) for p in params))
        assert {r.json()["status"] for r in responses} == {"refreshing"}
        await asyncio.sleep(1.0)
    connection = await aio_pika.connect(vhost)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue("recipe-engine.search", passive=True)
        assert queue.declaration_result.message_count == 1


async def test_redelivered_and_duplicate_messages_store_once(
    database: str, servers: ServerUrls, vhost: str, redis: Redis
) -> None:
    stack = make_stack(database, servers, vhost)
    envelope = search_message("doro wat")
    async with running_engine(stack):
        await publish(vhost, envelope)
        await publish(vhost, envelope)  # the same message id, again
        other = search_message("doro wat")  # another message, same search
        await publish(vhost, other)
        await wait_for_event(
            redis,
            stack.common.redis_prefix,
            sid(envelope),
            "search.completed",
        )
        await asyncio.sleep(1.5)
    assert await count_titles(database, "Doro Wat") == 1
    conn = await asyncpg.connect(database)
    try:
        handled = await conn.fetchval(
            "SELECT count(*) FROM processed_messages WHERE message_id = ANY($1::uuid[])",
            [envelope.id, other.id],
        )
    finally:
        await conn.close()
    assert handled == 2


async def test_same_recipe_from_two_sources_is_one_recipe(
    database: str,
    servers: ServerUrls,
    vhost: str,
    redis: Redis,
    thirdparty: tuple[ThirdParty, str],
) -> None:
    fake, base = thirdparty
    koshari = KOSHARI["meals"][0]
    fake.feed = [meal_to_recipe(koshari)]
    stack = make_stack(
        database,
        servers,
        vhost,
        feed_url=f"{base}/feed.json",
        themealdb_url=f"{base}/themealdb/api/json/v1",
    )
    envelope = search_message("koshari")
    async with running_engine(stack):
        await publish(vhost, envelope)
        events = await wait_for_event(
            redis, stack.common.redis_prefix, sid(envelope), "search.completed"
        )
    completed = data_of(events[-1], CompletedData)
    assert completed.sources["catalogue"].found == 1
    assert completed.sources["themealdb"].found == 1
    assert await count_titles(database, "Koshari") == 1


async def test_a_failing_source_fails_alone(
    database: str,
    servers: ServerUrls,
    vhost: str,
    redis: Redis,
    thirdparty: tuple[ThirdParty, str],
) -> None:
    fake, base = thirdparty
    fake.themealdb_fails = True
    stack = make_stack(database, servers, vhost, themealdb_url=f"{base}/themealdb/api/json/v1")
    envelope = search_message("bouillabaisse")
    async with running_engine(stack):
        await publish(vhost, envelope)
        events = await wait_for_event(
            redis, stack.common.redis_prefix, sid(envelope), "search.completed"
        )
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"http://127.0.0.1:{stack.engine.port}/metrics")).text
    completed = data_of(events[-1], CompletedData)
    assert completed.sources["themealdb"].error
    assert completed.sources["catalogue"].found >= 1
    assert 'pantry_engine_source_failures_total{reason="error",source="themealdb"}' in metrics
    assert await count_titles(database, "Bouillabaisse") == 1


async def test_every_source_failing_retries_then_dead_letters_and_tells(
    database: str,
    servers: ServerUrls,
    vhost: str,
    redis: Redis,
    thirdparty: tuple[ThirdParty, str],
) -> None:
    fake, base = thirdparty
    fake.themealdb_fails = True
    stack = make_stack(
        database,
        servers,
        vhost,
        feed_url=f"{base}/broken",
        themealdb_url=f"{base}/themealdb/api/json/v1",
        max_attempts=3,
    )
    envelope = search_message("gumbo")
    async with running_engine(stack):
        await publish(vhost, envelope)
        events = await wait_for_event(
            redis, stack.common.redis_prefix, sid(envelope), "search.failed"
        )
        dead = await get_one(vhost, dead_letter_queue("recipe-engine.search"))
    assert dead.message_id == str(envelope.id)
    assert "failed 3 times" in str(dead.headers["x-death-reason"])
    assert dead.headers["x-attempt"] == 3
    assert fake.requests.count("themealdb:search.php") == 3
    assert "every source failed" in data_of(events[-1], FailedData).reason


async def test_unparseable_message_is_dead_lettered_and_the_consumer_goes_on(
    database: str, servers: ServerUrls, vhost: str, redis: Redis
) -> None:
    stack = make_stack(database, servers, vhost)
    async with running_engine(stack):
        await publish(vhost, b"{not json")
        await publish(vhost, orjson.dumps({"id": str(uuid.uuid4()), "type": "search.requested"}))
        good = search_message("cassoulet")
        await publish(vhost, good)
        await wait_for_event(
            redis,
            stack.common.redis_prefix,
            sid(good),
            "search.completed",
        )
        first = await get_one(vhost, dead_letter_queue("recipe-engine.search"))
        second = await get_one(vhost, dead_letter_queue("recipe-engine.search"))
    assert "unparseable" in str(first.headers["x-death-reason"])
    assert "unparseable" in str(second.headers["x-death-reason"])
    assert await count_titles(database, "Cassoulet") == 1


async def test_sigterm_finishes_the_message_in_hand(
    database: str,
    servers: ServerUrls,
    vhost: str,
    redis: Redis,
    thirdparty: tuple[ThirdParty, str],
) -> None:
    fake, base = thirdparty
    fake.feed = [doc for doc in FEED if doc["name"] == "Feijoada"]
    fake.feed_delay = 1.5
    stack = make_stack(database, servers, vhost, feed_url=f"{base}/feed.json")
    envelope = search_message("feijoada")
    async with running_engine(stack):
        await publish(vhost, envelope)
        for _ in range(100):
            if "feed" in fake.requests:
                break
            await asyncio.sleep(0.05)
        assert "feed" in fake.requests
        # leaving the block stops the engine while the feed is still answering
    events = await stream_events(redis, stack.common.redis_prefix, sid(envelope))
    assert events[-1].type == "search.completed"
    assert await count_titles(database, "Feijoada") == 1
    connection = await aio_pika.connect(vhost)
    async with connection:
        channel = await connection.channel()
        for name in (
            "recipe-engine.search",
            retry_queue("recipe-engine.search"),
            dead_letter_queue("recipe-engine.search"),
        ):
            queue = await channel.declare_queue(name, passive=True)
            assert queue.declaration_result.message_count == 0, name


async def test_import_by_url_stores_the_pages_recipe(
    database: str, servers: ServerUrls, vhost: str, thirdparty: tuple[ThirdParty, str]
) -> None:
    _, base = thirdparty
    stack = make_stack(database, servers, vhost)
    async with api_server(stack.common, stack.api) as api, running_engine(stack):
        accepted = await api.post("/api/v1/recipes/import", json={"url": f"{base}/moved?hops=3"})
        assert accepted.status_code == 202, accepted.text
        job = accepted.json()
        assert accepted.headers["location"] == job["status_url"]
        state = await finished_job(api, job["status_url"])
        assert state["status"] == "done", state
        recipe = (await api.get(f"/api/v1/recipes/{state['recipe_id']}")).json()
        assert recipe["title"] == "Smoky Lentil Stew"
        assert recipe["source"] == "web"
        assert recipe["canonical_url"] == f"{base}/recipes/smoky-lentil-stew"
        assert recipe["total_time_min"] == 55
        assert "vegan" in recipe["diets"]
        # The same page again updates the same recipe.
        again = (
            await api.post(
                "/api/v1/recipes/import", json={"url": f"{base}/recipes/smoky-lentil-stew"}
            )
        ).json()
        state2 = await finished_job(api, again["status_url"])
        assert state2["recipe_id"] == state["recipe_id"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/recipes/blog-post", "no schema.org Recipe"),
        ("/huge", "larger than"),
        ("/moved?hops=9", "redirects"),
    ],
)
async def test_import_of_an_unusable_page_fails_the_job_with_the_reason(
    database: str,
    servers: ServerUrls,
    vhost: str,
    thirdparty: tuple[ThirdParty, str],
    path: str,
    reason: str,
) -> None:
    _, base = thirdparty
    stack = make_stack(database, servers, vhost)
    async with api_server(stack.common, stack.api) as api, running_engine(stack):
        job = (await api.post("/api/v1/recipes/import", json={"url": base + path})).json()
        state = await finished_job(api, job["status_url"])
    assert state["status"] == "failed"
    assert reason in state["error"]


async def test_import_refuses_what_it_should(
    database: str, servers: ServerUrls, vhost: str
) -> None:
    stack = make_stack(database, servers, vhost)
    strict = stack.api.model_copy(update={"import_allow_private": False})
    async with api_server(stack.common, strict) as api:
        cases: list[tuple[dict[str, Any], int, str]] = [
            ({"json": {"url": "ftp://example.com/recipe"}}, 422, "url"),
            ({"json": {"url": "javascript:alert(1)"}}, 422, "url"),
            ({"json": {"url": "http://127.0.0.1:8000/recipe"}}, 422, "url"),
            ({"json": {"url": "http://10.1.2.3/recipe"}}, 422, "url"),
            ({"json": {"url": "http://[::1]/recipe"}}, 422, "url"),
            ({"json": {"url": "http://localhost/recipe"}}, 422, "url"),
            ({"json": {"url": "http://user:pw@example.com/"}}, 422, "url"),
            ({"json": {"url": 42}}, 422, "url"),
            ({"json": ["http://example.com"]}, 422, "url"),
            ({"content": b"{oops", "headers": {"content-type": "application/json"}}, 422, "body"),
            ({"content": b"url=x", "headers": {"content-type": "text/plain"}}, 415, ""),
            ({"json": {"url": "http://example.com/" + "a" * 9000}}, 413, ""),
        ]
        for kwargs, status, parameter in cases:
            response = await api.post("/api/v1/recipes/import", **kwargs)
            assert response.status_code == status, (kwargs, response.text)
            body = response.json()
            assert body["error"]
            if parameter:
                assert body["errors"][0]["parameter"] == parameter
        assert (await api.get(f"/api/v1/recipes/import/{uuid.uuid4()}")).status_code == 404
        assert (await api.get("/api/v1/recipes/import/not-a-uuid")).status_code == 422


async def test_rabbitmq_outage_loses_no_refresh_request(
    database: str, servers: ServerUrls, vhost: str, redis: Redis
) -> None:
    stack = make_stack(database, servers, vhost)
    async with api_server(stack.common, stack.api) as api:
        ready = (await api.get("/api/v1/ready")).json()
        for _ in range(100):
            if ready["checks"]["rabbitmq"]["status"] == "up":
                break
            await asyncio.sleep(0.1)
            ready = (await api.get("/api/v1/ready")).json()
        await servers.ctl("stop_app")
        try:
            response = await api.get(SEARCH, params={"q": "pastel de nata"})
            assert response.status_code == 200
            body = response.json()
            assert body["status"] == "refreshing"
            down = await api.get("/api/v1/ready")
            assert down.status_code == 200
            assert down.json()["checks"]["rabbitmq"]["status"] == "down"
            conn = await asyncpg.connect(database)
            try:
                assert await conn.fetchval("SELECT count(*) FROM outbox") == 1
            finally:
                await conn.close()
        finally:
            await servers.ctl("start_app")
        async with running_engine(stack):
            await wait_for_event(
                redis, stack.common.redis_prefix, body["search_id"], "search.completed", timeout=60
            )
        assert (await api.get(SEARCH, params={"q": "pastel de nata"})).json()["results"][0][
            "title"
        ] == "Pastel de Nata"
    conn = await asyncpg.connect(database)
    try:
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
    finally:
        await conn.close()


async def test_a_recipe_found_for_one_search_is_in_every_answer_it_changes_at_once(
    database: str, servers: ServerUrls, vhost: str, redis: Redis, vocab: Any
) -> None:
    """Discovery: the engine stores Jollof Rice for one user's search; another user's cached
    search that the recipe matches includes it on its next request, and a cached search that
    it does not match stays cached."""
    from pantry_common import build_query

    stack = make_stack(database, servers, vhost)
    keys = Keys(stack.common.redis_prefix)
    other = {"q": "jollof", "limit": "10"}
    unrelated = {"q": "mushroom risotto"}
    for params in (other, unrelated):  # refreshed a moment ago: they ask the engine nothing
        search_id = build_query(vocab, q=params["q"]).search_id
        await redis.set(keys.refresh(search_id), "done", ex=60)
    async with api_server(stack.common, stack.api) as api:
        for params in (other, unrelated):
            await api.get(SEARCH, params=params)
            cached = await api.get(SEARCH, params=params)
            assert cached.headers["x-cache"] == "hit"
            assert "Jollof Rice" not in [r["title"] for r in cached.json()["results"]]
        first = (await api.get(SEARCH, params={"q": "jollof rice"})).json()
        assert first["status"] == "refreshing"
        async with running_engine(stack):
            await wait_for_event(
                redis, stack.common.redis_prefix, first["search_id"], "search.completed"
            )
        after = await api.get(SEARCH, params=other)
        assert after.headers["x-cache"] == "miss"
        assert "Jollof Rice" in [r["title"] for r in after.json()["results"]]
        assert (await api.get(SEARCH, params=unrelated)).headers["x-cache"] == "hit"


async def test_an_imported_recipe_is_found_by_the_search_that_missed_it(
    database: str, servers: ServerUrls, vhost: str, redis: Redis, thirdparty: Any
) -> None:
    """As a new user tries it: search by a word only one's own recipe has (0 results, cached),
    import the recipe by URL, wait for the job to say done, search again: found."""
    from .thirdparty import FAMILY_TITLE

    _, base = thirdparty
    stack = make_stack(database, servers, vhost)
    params = {"q": "zyxwq"}
    async with api_server(stack.common, stack.api) as api, running_engine(stack):
        first = (await api.get(SEARCH, params=params)).json()
        assert first["total"] == 0
        await wait_for_event(
            redis, stack.common.redis_prefix, first["search_id"], "search.completed"
        )
        await api.get(SEARCH, params=params)
        before = await api.get(SEARCH, params=params)
        assert before.headers["x-cache"] == "hit"
        assert before.json()["total"] == 0
        assert before.json()["status"] == "complete"
        job = await api.post("/api/v1/recipes/import", json={"url": f"{base}/recipes/family"})
        state = await finished_job(api, job.json()["status_url"])
        assert state["status"] == "done", state
        after = await api.get(SEARCH, params=params)
        body = after.json()
        assert body["total"] == 1
        assert [r["title"] for r in body["results"]] == [FAMILY_TITLE]
        assert body["results"][0]["id"] == state["recipe_id"]
        # Stored as the api's own answer from then on.
        assert (await api.get(SEARCH, params=params)).json()["total"] == 1


async def test_the_engine_refuses_to_fetch_a_private_address(
    thirdparty: tuple[ThirdParty, str],
) -> None:
    """The same guard as the api's, on the engine's side: an import message that names a
    loopback page (the api let it through, or it came another way) is refused for good."""
    from pantry_engine.sources import UrlRefused, WebPageSource

    fake, base = thirdparty
    async with httpx.AsyncClient() as client:
        strict = WebPageSource(client, max_bytes=100_000, max_redirects=3, allow_private=False)
        with pytest.raises(UrlRefused, match="loopback, private or reserved"):
            await strict.fetch(f"{base}/recipes/smoky-lentil-stew")
        assert "page" not in fake.requests  # refused before anything was sent
        lenient = WebPageSource(client, max_bytes=100_000, max_redirects=3, allow_private=True)
        assert (await lenient.fetch(f"{base}/recipes/smoky-lentil-stew")).doc["name"]


async def test_the_engines_http_side_speaks_as_the_other_services(
    database: str, servers: ServerUrls, vhost: str
) -> None:
    """One health app and one JSON error body for the three services: the engine's readiness
    names each dependency, and what it does not serve is a JSON 404 or 405."""
    stack = make_stack(database, servers, vhost)
    base = f"http://127.0.0.1:{stack.engine.port}"
    async with running_engine(stack), httpx.AsyncClient(base_url=base) as client:
        ready = await client.get("/ready")
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "ready"
        assert {name: check["status"] for name, check in body["checks"].items()} == {
            "postgres": "up",
            "redis": "up",
            "rabbitmq": "up",
        }
        assert (await client.get("/health")).json() == {"status": "ok", "service": "recipe-engine"}
        missing = await client.get("/nothing-here")
        assert missing.status_code == 404
        assert missing.json()["error"] == "not_found"
        wrong = await client.post("/ready")
        assert wrong.status_code == 405
        assert wrong.json()["error"] == "method_not_allowed"
        assert wrong.headers["allow"] == "GET, HEAD"
