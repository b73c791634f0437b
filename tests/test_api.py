"""The api's contract: bad input, the cache, outages of Redis and PostgreSQL, health, metrics."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import jsonschema
import pytest

from pantry_api.models import ErrorBody, RecipeDetail, SearchResponse
from pantry_common import CommonSettings

from .conftest import TEST_LIMITS, api_server, settings_for
from .servers import PostgresStatements, RedisProcess, ServerUrls

pytestmark = pytest.mark.integration

SEARCH = "/api/v1/recipes/search"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"q": "x" * 201}, "q"),
        ({"have": ",".join(f"food{i}" for i in range(31))}, "have"),
        ({"q": "soup", "exclude": ",".join(f"food{i}" for i in range(31))}, "exclude"),
        ({"q": "soup", "diet": "paleo"}, "diet"),
        ({"q": "soup", "sort": "best"}, "sort"),
        ({"q": "soup", "max_time": "-1"}, "max_time"),
        ({"q": "soup", "max_time": "soon"}, "max_time"),
        ({"q": "soup", "limit": "0"}, "limit"),
        ({"q": "soup", "limit": "51"}, "limit"),
        ({"q": "soup", "cursor": "not-a-cursor"}, "cursor"),
        ({"q": "soup", "cursor": "eyJvIjotNX0"}, "cursor"),
        ({}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "!!!"}, "q"),
    ],
)
async def test_bad_input_is_a_422_naming_the_parameter(
    shared_api: httpx.AsyncClient, params: dict[str, str], parameter: str
) -> None:
    response = await shared_api.get(SEARCH, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    body = ErrorBody.model_validate(response.json())
    assert body.errors is not None
    assert parameter in {e.parameter for e in body.errors}
    assert parameter in body.message


@pytest.mark.parametrize(
    ("q", "status"),
    [
        ("'; DROP TABLE recipes; --", 200),
        ("\x00\x01 nul", 200),
        ("😀🍕 pizza", 200),
        ("a & b | !c <-> d:*", 200),
        ('"quoted" -minus OR or', 200),
        ("%_\\", 422),  # nothing left of it once normalised: neither q nor have
        ("ǅ ß ﬁ İ", 200),
        ("a" * 200, 200),
    ],
)
async def test_odd_text_never_fails(shared_api: httpx.AsyncClient, q: str, status: int) -> None:
    response = await shared_api.get(SEARCH, params={"q": q, "have": q[:50], "exclude": q[:50]})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    if status == 200:
        SearchResponse.model_validate(response.json())
    else:
        body = ErrorBody.model_validate(response.json())
        assert body.errors is not None and body.errors[0].parameter == "q"


@pytest.mark.parametrize(
    ("first", "same"),
    [
        ("q=lentil+soup", "q=Lentil%20Soup&limit=20"),
        ("q=soup&q=lentil+soup", "q=lentil+soup"),
        ("have=rice&have=onion", "have=onion,+rice"),
        ("q=stew&diet=vegan&diet=&unknown=1", "q=stew&diet=vegan"),
        ("q=curry&max_time=30&limit=5", "limit=5&max_time=30&q=curry"),
    ],
)
async def test_the_fast_path_reads_parameters_as_the_route_does(
    shared_api: httpx.AsyncClient, first: str, same: str
) -> None:
    """The route answers the first (a miss) and caches it; the fast path must find that answer
    for the same query string, and for another spelling of the same search."""
    miss = await shared_api.get(f"{SEARCH}?{first}")
    assert miss.status_code == 200, miss.text
    for query_string in (first, same):
        hit = await shared_api.get(f"{SEARCH}?{query_string}")
        assert hit.headers["x-cache"] == "hit", query_string
        assert hit.json()["query"] == miss.json()["query"]


async def test_unknown_route_and_method_are_json(shared_api: httpx.AsyncClient) -> None:
    missing = await shared_api.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    wrong = await shared_api.post(SEARCH)
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", SEARCH, "GET, HEAD"),
        ("DELETE", f"{SEARCH}?q=soup", "GET, HEAD"),
        ("TRACE", "/api/v1/recipes/1", "GET, HEAD"),
        ("PUT", "/api/v1/recipes/import", "POST"),
        # Not `GET /recipes/{recipe_id}` with the id "import" (that would be a 422).
        ("GET", "/api/v1/recipes/import", "POST"),
        ("HEAD", "/api/v1/recipes/import", "POST"),
        ("POST", "/api/v1/recipes/import/00000000-0000-0000-0000-000000000000", "GET, HEAD"),
        ("POST", "/static/app.js", "GET, HEAD"),
        ("POST", "/", "GET, HEAD"),
    ],
)
async def test_a_405_says_which_methods_are_allowed(
    shared_api: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    """RFC 9110 §15.5.6: a 405 carries `Allow`."""
    response = await shared_api.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    if method != "HEAD":
        assert response.json()["error"] == "method_not_allowed"


async def test_head_is_get_without_the_body(shared_api: httpx.AsyncClient) -> None:
    """A search's HEAD answers alike whether the route computes it or the fast path has it
    cached (it was a 405 on a miss and a 200 on a hit)."""
    path = f"{SEARCH}?q=lentil+soup&limit=3"
    miss = await shared_api.head(path)
    assert miss.status_code == 200, miss.text
    assert (miss.content, miss.headers["x-cache"]) == (b"", "miss")
    hit, get = await shared_api.head(path), await shared_api.get(path)
    assert (hit.status_code, hit.content, hit.headers["x-cache"]) == (200, b"", "hit")
    assert hit.headers["content-length"] == str(len(get.content))
    assert hit.headers["content-type"] == get.headers["content-type"] == "application/json"
    recipe = await shared_api.head("/api/v1/recipes/1")
    assert recipe.status_code == 200 and recipe.content == b""
    assert int(recipe.headers["content-length"]) > 0


@pytest.mark.parametrize("value", [" 5", "+5", "1_0", "\u0665", "5.0", ""])
async def test_whole_numbers_are_ascii_digits(shared_api: httpx.AsyncClient, value: str) -> None:
    """What the document calls an integer: `int()` would take " 5", "+5", "1_0" and "٥" too."""
    for name in ("max_time", "limit"):
        response = await shared_api.get(SEARCH, params={"q": "soup", name: value})
        assert response.status_code == 422, (name, value, response.text)
        assert response.json()["errors"][0]["parameter"] == name


async def test_miss_then_hit_returns_the_stored_bytes(shared_api: httpx.AsyncClient) -> None:
    params = {"q": "mushroom risotto", "limit": "5"}
    first = await shared_api.get(SEARCH, params=params)
    assert first.status_code == 200
    assert first.headers["x-cache"] == "miss"
    miss = SearchResponse.model_validate(first.json())
    assert miss.cache == "miss"
    assert miss.results[0].title == "Mushroom Risotto"
    second = await shared_api.get(SEARCH, params=params)
    assert second.headers["x-cache"] == "hit"
    hit = SearchResponse.model_validate(second.json())
    assert hit.cache == "hit"
    assert hit.model_dump(exclude={"cache"}) == miss.model_dump(exclude={"cache"})
    assert second.content == first.content.replace(b'"cache":"miss"', b'"cache":"hit"')


async def test_a_cached_answer_tells_the_searchs_current_status(
    database: str, servers: ServerUrls
) -> None:
    """A cached `refreshing` answer is served while the refresh runs, and not once it is done
    (also when it finished before the answer was stored): the next answer says `complete`."""
    from redis.asyncio import Redis

    from pantry_common import Keys, mark_refresh

    common = settings_for(database, servers)
    params = {"q": "lentil soup"}
    redis = Redis.from_url(servers.redis)
    try:
        async with api_server(common) as api:
            first = await api.get(SEARCH, params=params)
            assert first.json()["status"] == "refreshing"
            running = await api.get(SEARCH, params=params)
            assert running.headers["x-cache"] == "hit"
            assert running.json()["status"] == "refreshing"
            search_id = first.json()["search_id"]
            # What the engine does when it has stored what it found.
            await mark_refresh(redis, None, Keys(common.redis_prefix), search_id, "done")
            done = await api.get(SEARCH, params=params)
            assert done.json()["status"] == "complete"
            assert done.json()["results"] == first.json()["results"]
            again = await api.get(SEARCH, params=params)
            assert again.headers["x-cache"] == "hit"
            assert again.json()["status"] == "complete"
    finally:
        await redis.aclose()


async def test_concurrent_misses_agree_on_one_database_query(
    database: str, servers: ServerUrls
) -> None:
    """Twenty users asking the same uncached search at once: one ranked query, one answer."""
    async with PostgresStatements(servers.postgres) as postgres:
        common = settings_for(postgres.dsn(database), servers)
        async with api_server(common) as api:

            def searches() -> int:
                return sum("recipe_search" in sql for sql in postgres.statements)

            before = searches()
            params = {"q": "lentil soup", "have": "lentils,onion"}
            responses = await asyncio.gather(*(api.get(SEARCH, params=params) for _ in range(20)))
            ran = searches() - before
    bodies = [r.json() for r in responses]
    assert all(r.status_code == 200 for r in responses)
    assert len({b["search_id"] for b in bodies}) == 1
    assert len({str(b["results"]) for b in bodies}) == 1
    assert bodies[0]["results"]
    assert ran == 1


async def test_recipe_detail_has_parsed_lines(shared_api: httpx.AsyncClient) -> None:
    found = (await shared_api.get(SEARCH, params={"q": "chicken curry"})).json()
    recipe_id = next(r["id"] for r in found["results"] if r["title"] == "Chicken Curry")
    response = await shared_api.get(f"/api/v1/recipes/{recipe_id}")
    assert response.status_code == 200
    recipe = RecipeDetail.model_validate(response.json())
    assert recipe.title == "Chicken Curry"
    assert recipe.steps and recipe.total_time_min
    assert any(line.food == "chicken thigh" for line in recipe.ingredients)
    assert (
        sum(line.quantity is not None for line in recipe.ingredients)
        >= len(recipe.ingredients) // 2
    )


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/v1/recipes/999999999", 404), ("/api/v1/recipes/abc", 422), ("/api/v1/recipes/0", 422)],
)
async def test_recipe_detail_errors(shared_api: httpx.AsyncClient, path: str, status: int) -> None:
    response = await shared_api.get(path)
    assert response.status_code == status
    assert ErrorBody.model_validate(response.json()).error


async def test_health_and_ready(shared_api: httpx.AsyncClient) -> None:
    assert (await shared_api.get("/api/v1/health")).json() == {"status": "ok", "service": "api"}
    ready = await shared_api.get("/api/v1/ready")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert checks["postgres"]["status"] == "up"
    assert checks["redis"]["status"] == "up"


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_cache_outcomes_and_latency(shared_api: httpx.AsyncClient) -> None:
    before = (await shared_api.get("/metrics")).text
    params = {"q": "greek salad", "limit": "7"}
    await shared_api.get(SEARCH, params=params)
    await shared_api.get(SEARCH, params=params)
    after = (await shared_api.get("/metrics")).text
    for outcome in ("hit", "miss"):
        name = "pantry_search_cache_total"
        assert _metric(after, name, result=outcome) == _metric(before, name, result=outcome) + 1
    count = "pantry_http_request_duration_seconds_count"
    labels = {"route": "/api/v1/recipes/search", "method": "GET", "status": "200"}
    assert _metric(after, count, **labels) == _metric(before, count, **labels) + 2


async def test_redis_outage_bypasses_then_recovers_without_restart(
    database: str, servers: ServerUrls
) -> None:
    async with RedisProcess() as redis_server:
        common = settings_for(database, servers, redis_url=redis_server.url)
        from pantry_api.settings import ApiSettings

        settings = ApiSettings(
            startup_wait_seconds=0, access_log=False, redis_cooldown_seconds=0.2, **TEST_LIMITS
        )
        async with api_server(common, settings) as api:
            params = {"q": "banana bread"}
            assert (await api.get(SEARCH, params=params)).headers["x-cache"] == "miss"
            assert (await api.get(SEARCH, params=params)).headers["x-cache"] == "hit"

            await redis_server.stop()
            down = await api.get(SEARCH, params=params)
            assert down.status_code == 200
            assert down.headers["x-cache"] == "bypass"
            assert down.json()["cache"] == "bypass"
            assert down.json()["results"][0]["title"] == "Banana Bread"
            ready = (await api.get("/api/v1/ready")).json()
            assert ready["status"] == "ready"
            assert ready["checks"]["redis"]["status"] == "down"

            await redis_server.start()  # an empty Redis: the old entry is gone
            states = []
            for _ in range(50):
                states.append((await api.get(SEARCH, params=params)).headers["x-cache"])
                if states[-1] == "hit":
                    break
                await asyncio.sleep(0.05)
            assert states[-2:] == ["miss", "hit"], states


async def test_postgres_outage_is_a_503_and_recovers(database: str, servers: ServerUrls) -> None:
    name = database.rsplit("/", 1)[1]
    async with api_server(settings_for(database, servers)) as api:
        cached = {"q": "minestrone"}
        assert (await api.get(SEARCH, params=cached)).status_code == 200
        admin = await asyncpg.connect(servers.postgres)
        try:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
            fresh = await api.get(SEARCH, params={"q": "borscht"})
            assert fresh.status_code == 503
            assert fresh.json()["dependency"] == "postgres"
            assert fresh.headers["retry-after"]
            # What is cached is still served.
            assert (await api.get(SEARCH, params=cached)).headers["x-cache"] == "hit"
            ready = await api.get("/api/v1/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["postgres"]["status"] == "down"
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await admin.close()
        recovered = await api.get(SEARCH, params={"q": "borscht"})
        assert recovered.status_code == 200
        assert recovered.json()["results"][0]["title"] == "Borscht"
        assert (await api.get("/api/v1/ready")).status_code == 200


def test_settings_refuse_placeholder_passwords_in_production() -> None:
    with pytest.raises(ValueError, match="placeholder password"):
        CommonSettings(
            environment="production",
            database_url="postgresql://pantry:pantry@db:5432/pantry",
            rabbitmq_url="amqp://app:s3cr3t-long@mq:5672/",
        )
    CommonSettings(
        environment="production",
        database_url="postgresql://pantry:a-real-secret@db:5432/pantry",
        rabbitmq_url="amqp://app:s3cr3t-long@mq:5672/",
    )


def test_settings_take_a_cloud_sql_iam_user_without_password() -> None:
    """On GKE the api logs in as its IAM database user through the Auth Proxy on 127.0.0.1:
    there is no password to refuse. Anywhere else a missing password still is one."""
    iam = "pantry-api%40pantry-chef-prod.iam"
    settings = CommonSettings(
        environment="production",
        database_url=f"postgresql://{iam}@127.0.0.1:5432/pantry",
        rabbitmq_url="amqp://app:s3cr3t-long@mq:5672/",
    )
    assert settings.database_url.hosts()[0]["username"] == iam
    for url in (
        f"postgresql://{iam}@db.example.com:5432/pantry",  # not through the local proxy
        "postgresql://pantry@127.0.0.1:5432/pantry",  # not an IAM user
    ):
        with pytest.raises(ValueError, match="placeholder password"):
            CommonSettings(
                environment="production",
                database_url=url,
                rabbitmq_url="amqp://app:s3cr3t-long@mq:5672/",
            )


@pytest.mark.parametrize(
    ("query", "valid"),
    [
        ({"q": "lentil soup"}, True),
        ({"have": "rice, onion"}, True),
        ({"q": "!!!", "have": "rice"}, True),
        ({}, False),
        ({"q": "!!!"}, False),
        ({"q": "%_\\"}, False),
        ({"have": " , "}, False),
        ({"have": ",".join(["rice"] * 31)}, False),
        ({"have": "x" * 61}, False),
        ({"q": "x" * 201}, False),
    ],
)
async def test_the_document_says_q_or_have(
    shared_api: httpx.AsyncClient, query: dict[str, str], valid: bool
) -> None:
    """The search's `q`/`have` parameter (a form-style exploded object) says what the api
    accepts: what its schema allows is a 200, what it refuses a 422."""
    document = (await shared_api.get("/api/openapi.json")).json()
    parameters = document["paths"][SEARCH]["get"]["parameters"]
    (search,) = [p for p in parameters if p["name"] == "search"]
    assert search["in"] == "query" and search["style"] == "form" and search["explode"]
    schema_says = jsonschema.Draft202012Validator(search["schema"]).is_valid(query)
    assert schema_says is valid
    response = await shared_api.get(SEARCH, params=query)
    assert response.status_code == (200 if valid else 422), response.text


@pytest.mark.parametrize(
    ("url", "valid"),
    [
        ("https://example.com/recipes/stew", True),
        ("HTTP://example.com/", True),
        ("ftp://example.com/recipes/stew", False),
        ("mailto:cook@example.com", False),
        ("https://example.com/" + "a" * 2030, False),
    ],
)
async def test_the_document_says_which_import_urls(
    shared_api: httpx.AsyncClient, url: str, valid: bool
) -> None:
    """http and https only, at most 2048 characters; what the schema refuses, the api refuses."""
    document = (await shared_api.get("/api/openapi.json")).json()
    body = document["paths"]["/api/v1/recipes/import"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert jsonschema.Draft202012Validator(schema).is_valid({"url": url}) is valid
    if not valid:
        response = await shared_api.post("/api/v1/recipes/import", json={"url": url})
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["parameter"] == "url"
