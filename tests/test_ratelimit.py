"""The api's per-client rate limits: token buckets in the real Redis, real HTTP, real processes.

Who the client is: the address uvicorn gives the app. The tests connect from loopback, which
uvicorn trusts as a proxy (`FORWARDED_ALLOW_IPS`, default `127.0.0.1,::1`), so an
`X-Forwarded-For` header names the client, as the gateway's does in the cluster; from an
address it does not trust, the header is ignored and the peer is the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from pantry_api.settings import ApiSettings
from pantry_common import CommonSettings, Keys

from .conftest import api_server, settings_for
from .servers import ServerUrls, ServiceProcess, free_port

pytestmark = pytest.mark.integration

SEARCH = "/api/v1/recipes/search"
IMPORT = "/api/v1/recipes/import"
#: A URL the import route refuses at once (422) once the request is past the limit.
NOT_IMPORTABLE = {"url": "ftp://example.org/recipe"}


def limits(**overrides: Any) -> ApiSettings:
    return ApiSettings(**{"startup_wait_seconds": 0, "access_log": False, **overrides})


def client(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return 0.0


async def test_over_the_limit_is_a_429_with_retry_after_and_the_bucket_refills(
    shared_database: str, servers: ServerUrls
) -> None:
    settings = limits(rate_limit_search_per_second=1, rate_limit_search_burst=3)
    async with api_server(settings_for(shared_database, servers), settings) as api:
        params = {"q": "banana bread"}
        first = [await api.get(SEARCH, params=params) for _ in range(3)]
        assert [r.status_code for r in first] == [200, 200, 200]
        # The second and third were cache hits, answered before routing: limited all the same.
        assert [r.headers["x-cache"] for r in first] == ["miss", "hit", "hit"]

        refused = await api.get(SEARCH, params=params)
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"] == "application/json"
        retry_after = int(refused.headers["retry-after"])
        assert retry_after == 1  # one token a second
        body = refused.json()
        assert body["error"] == "too_many_requests"
        assert body["limit"] == "search"
        assert body["retry_after"] == retry_after
        assert "try again" in body["message"]
        assert (await api.get(SEARCH, params={"q": "soup"})).status_code == 429  # any search

        await asyncio.sleep(retry_after)
        again = await api.get(SEARCH, params=params)
        assert again.status_code == 200
        assert again.headers["x-cache"] == "hit"
        assert (await api.get(SEARCH, params=params)).status_code == 429  # one token came back


async def test_a_refused_request_is_counted_and_logged_under_its_route(
    shared_database: str, servers: ServerUrls
) -> None:
    settings = limits(rate_limit_search_per_second=0.5, rate_limit_search_burst=1)
    common = settings_for(shared_database, servers)
    async with api_server(common, settings) as api:
        before = (await api.get("/metrics")).text
        assert (await api.get(SEARCH, params={"q": "hummus"})).status_code == 200
        assert (await api.get(SEARCH, params={"q": "hummus"})).status_code == 429
        # The bucket lives under the service's prefix and expires once it would be full
        # again (one token at 0.5 a second: 2 s, and a second of margin), read at once: on a
        # slow machine the rest of the test can take longer than that.
        redis = Redis.from_url(servers.redis)
        try:
            key = Keys(common.redis_prefix).rate("search", "127.0.0.1")
            assert 0 < await redis.pttl(key) <= 3000
            buckets = [k async for k in redis.scan_iter(f"{common.redis_prefix}:*:rate:*")]
            assert buckets == [key.encode()]
        finally:
            await redis.aclose()
        after = (await api.get("/metrics")).text
    name = "pantry_rate_limited_total"
    assert metric(after, name, kind="search") == metric(before, name, kind="search") + 1
    count = "pantry_http_request_duration_seconds_count"
    labels = {"route": SEARCH, "method": "GET", "status": "429"}
    assert metric(after, count, **labels) == metric(before, count, **labels) + 1


async def test_each_client_and_each_kind_of_route_has_its_own_bucket(
    shared_database: str, servers: ServerUrls
) -> None:
    settings = limits(
        rate_limit_search_per_second=0.01,
        rate_limit_search_burst=2,
        rate_limit_import_per_second=0.01,
        rate_limit_import_burst=2,
    )
    alice, bob = client("203.0.113.7"), client("198.51.100.23")
    async with api_server(settings_for(shared_database, servers), settings) as api:
        params = {"q": "minestrone"}
        alice_searches = [(await api.get(SEARCH, params=params, headers=alice)) for _ in range(3)]
        assert [r.status_code for r in alice_searches] == [200, 200, 429]
        # Another client is not held back by Alice's searches.
        assert (await api.get(SEARCH, params=params, headers=bob)).status_code == 200
        # Nor are Alice's imports: the import bucket is its own.
        imports = [
            (await api.post(IMPORT, json=NOT_IMPORTABLE, headers=alice)).status_code
            for _ in range(3)
        ]
        assert imports == [422, 422, 429]
        assert (await api.post(IMPORT, json=NOT_IMPORTABLE, headers=bob)).status_code == 422
        refused = await api.post(IMPORT, json=NOT_IMPORTABLE, headers=alice)
        assert refused.json()["error"] == "too_many_requests"
        assert refused.json()["limit"] == "import"
        assert int(refused.headers["retry-after"]) >= 1
        # The status of an import job is not limited: clients poll it.
        status = await api.get(f"{IMPORT}/{uuid.uuid4()}", headers=alice)
        assert status.status_code == 404
        assert (await api.get(SEARCH, params=params, headers=bob)).status_code == 200


async def test_forwarded_for_counts_only_from_a_trusted_proxy(
    shared_database: str, servers: ServerUrls
) -> None:
    """From 127.0.0.2 (loopback, but not an address uvicorn trusts as a proxy), a client that
    writes another `X-Forwarded-For` on each request is still one client: its own address."""
    settings = limits(rate_limit_search_per_second=0.01, rate_limit_search_burst=2)
    async with api_server(settings_for(shared_database, servers), settings) as trusted:
        transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(
            base_url=str(trusted.base_url), transport=transport, timeout=10
        ) as untrusted:
            statuses = [
                (
                    await untrusted.get(SEARCH, params={"q": "soup"}, headers=client(f"10.0.0.{n}"))
                ).status_code
                for n in range(3)
            ]
        assert statuses == [200, 200, 429]
        # From loopback the same headers are believed: three clients, three buckets.
        believed = [
            (
                await trusted.get(SEARCH, params={"q": "soup"}, headers=client(f"10.0.0.{n}"))
            ).status_code
            for n in range(3)
        ]
        assert believed == [200, 200, 200]


async def test_behind_the_gateway_the_client_is_the_address_the_gateway_saw(
    shared_database: str, servers: ServerUrls
) -> None:
    """With proxy_hops=1 (the cluster's gateway appends the address it saw), the client is the
    last X-Forwarded-For entry, whatever the peer: what a client writes to its left picks no
    bucket, and clients the gateway saw apart are apart."""
    settings = limits(
        rate_limit_search_per_second=0.01, rate_limit_search_burst=2, rate_limit_proxy_hops=1
    )
    async with api_server(settings_for(shared_database, servers), settings) as api:
        transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")  # a peer not trusted
        async with httpx.AsyncClient(
            base_url=str(api.base_url), transport=transport, timeout=10
        ) as gateway:
            spoofing = [
                (
                    await gateway.get(
                        SEARCH, params={"q": "soup"}, headers=client(f"10.9.9.{n}, 10.0.0.7")
                    )
                ).status_code
                for n in range(3)
            ]
            assert spoofing == [200, 200, 429]
            other = await gateway.get(SEARCH, params={"q": "soup"}, headers=client("10.0.0.8"))
            assert other.status_code == 200


def _api_env(common: CommonSettings, settings: ApiSettings, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANTRY_")}
    for prefix, model in (("PANTRY_", common), ("PANTRY_API_", settings)):
        for name, value in model.model_dump().items():
            if value is not None:
                env[f"{prefix}{name.upper()}"] = (
                    str(value).lower() if isinstance(value, bool) else str(value)
                )
    env["PANTRY_API_PORT"] = str(port)
    return env


@contextlib.asynccontextmanager
async def api_process(env: dict[str, str]) -> AsyncIterator[tuple[ServiceProcess, str]]:
    base_url = f"http://127.0.0.1:{env['PANTRY_API_PORT']}"
    process = ServiceProcess("pantry_api", env, f"{base_url}/api/v1/health")
    await process.start()
    try:
        yield process, base_url
    finally:
        await process.stop()


async def test_two_api_processes_limit_a_client_as_one_bucket(
    shared_database: str, servers: ServerUrls
) -> None:
    """Two `python -m pantry_api` servers over the same Redis and database: a client whose
    requests alternate between them gets the burst once, not once per server."""
    common = settings_for(shared_database, servers)
    # Environment variables, as a pod gets them: the limits come from PANTRY_API_RATE_LIMIT_*.
    settings = limits(
        rate_limit_search_per_second=0.02,  # one token in 50 s: no refill during the test
        rate_limit_search_burst=6,
        rate_limit_import_per_second=0.02,
        rate_limit_import_burst=2,
        access_log=True,
    )
    envs = [_api_env(common, settings, free_port()) for _ in range(2)]
    async with (
        api_process(envs[0]) as (first, first_url),
        api_process(envs[1]) as (second, second_url),
        httpx.AsyncClient(timeout=10) as http,
    ):
        urls = [first_url, second_url]
        statuses: list[tuple[int, int]] = []
        for n in range(10):
            response = await http.get(
                urls[n % 2] + SEARCH, params={"q": "chicken curry"}, headers=client("192.0.2.5")
            )
            statuses.append((n % 2, response.status_code))
        assert [status for _, status in statuses] == [200] * 6 + [429] * 4, statuses
        # Both servers allowed and both refused: with a bucket each, all ten would have passed.
        assert {(server, 429) for server in (0, 1)} <= set(statuses)
        assert {(server, 200) for server in (0, 1)} <= set(statuses)

        imports = [
            (
                await http.post(
                    urls[n % 2] + IMPORT, json=NOT_IMPORTABLE, headers=client("192.0.2.5")
                )
            ).status_code
            for n in range(3)
        ]
        assert imports == [422, 422, 429]
        # Another client, on either server, still has its own full bucket.
        other = client("192.0.2.99")
        assert (await http.get(second_url + SEARCH, params={"q": "soup"}, headers=other)).is_success
    for process in (first, second):
        refused = [
            line
            for line in process.lines()
            if line.get("message") == "request" and line.get("status") == 429
        ]
        assert refused, f"this server refused nothing:\n{process.text[-2000:]}"


async def test_redis_down_fails_open_and_is_counted(
    shared_database: str, servers: ServerUrls
) -> None:
    """Nothing listens where the api looks for Redis: every request is answered (searches
    from PostgreSQL, `bypass`), none is refused, and each is counted as let through unchecked."""
    common = settings_for(shared_database, servers, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    settings = limits(
        rate_limit_search_per_second=0.01,
        rate_limit_search_burst=1,
        rate_limit_import_per_second=0.01,
        rate_limit_import_burst=1,
        redis_cooldown_seconds=0.1,
    )
    async with api_server(common, settings) as api:
        before = (await api.get("/metrics")).text
        searches = []
        for _ in range(4):
            searches.append(await api.get(SEARCH, params={"q": "borscht"}))
            await asyncio.sleep(0.12)  # past the cooldown: Redis is asked again each time
        imports = [(await api.post(IMPORT, json=NOT_IMPORTABLE)).status_code for _ in range(3)]
        after = (await api.get("/metrics")).text
    assert [r.status_code for r in searches] == [200] * 4
    assert {r.headers["x-cache"] for r in searches} == {"bypass"}
    assert searches[0].json()["results"][0]["title"] == "Borscht"
    assert imports == [422] * 3
    name = "pantry_rate_limit_fail_open_total"
    assert metric(after, name, kind="search") == metric(before, name, kind="search") + 4
    assert metric(after, name, kind="import") == metric(before, name, kind="import") + 3


async def test_a_hung_redis_fails_open_within_the_client_timeout(
    shared_database: str, servers: ServerUrls
) -> None:
    """A Redis that accepts connections and never answers: the limiter gives up after the
    client's timeout (PANTRY_REDIS_TIMEOUT_SECONDS), lets the request through and counts it."""
    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass

    hung = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = hung.sockets[0].getsockname()[1]
    common = settings_for(shared_database, servers, redis_url=f"redis://127.0.0.1:{port}/0")
    common = common.model_copy(update={"redis_timeout_seconds": 0.2})
    settings = limits(rate_limit_search_per_second=0.01, rate_limit_search_burst=1)
    try:
        async with api_server(common, settings) as api:
            before = (await api.get("/metrics")).text
            answers = [await api.get(SEARCH, params={"q": "hummus"}) for _ in range(2)]
            after = (await api.get("/metrics")).text
    finally:
        for writer in held:
            writer.close()
        hung.close()
    assert [r.status_code for r in answers] == [200, 200]
    assert {r.headers["x-cache"] for r in answers} == {"bypass"}
    name = "pantry_rate_limit_fail_open_total"
    assert metric(after, name, kind="search") == metric(before, name, kind="search") + 2


async def test_the_switch_turns_the_limits_off(shared_database: str, servers: ServerUrls) -> None:
    settings = limits(
        rate_limit_enabled=False, rate_limit_search_per_second=0.01, rate_limit_search_burst=1
    )
    async with api_server(settings_for(shared_database, servers), settings) as api:
        answers = [await api.get(SEARCH, params={"q": "greek salad"}) for _ in range(4)]
    assert [r.status_code for r in answers] == [200] * 4
    assert [r.headers["x-cache"] for r in answers] == ["miss", "hit", "hit", "hit"]


def test_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = ApiSettings()
    assert defaults.rate_limit_enabled
    assert (defaults.rate_limit_search_per_second, defaults.rate_limit_search_burst) == (10, 40)
    assert (defaults.rate_limit_import_per_second, defaults.rate_limit_import_burst) == (1, 5)
    monkeypatch.setenv("PANTRY_API_RATE_LIMIT_ENABLED", "false")
    monkeypatch.setenv("PANTRY_API_RATE_LIMIT_SEARCH_PER_SECOND", "2.5")
    monkeypatch.setenv("PANTRY_API_RATE_LIMIT_SEARCH_BURST", "7")
    monkeypatch.setenv("PANTRY_API_RATE_LIMIT_IMPORT_PER_SECOND", "0.5")
    monkeypatch.setenv("PANTRY_API_RATE_LIMIT_IMPORT_BURST", "3")
    read = ApiSettings()
    assert not read.rate_limit_enabled
    assert (read.rate_limit_search_per_second, read.rate_limit_search_burst) == (2.5, 7)
    assert (read.rate_limit_import_per_second, read.rate_limit_import_burst) == (0.5, 3)
    monkeypatch.setenv("PANTRY_API_RATE_LIMIT_SEARCH_BURST", "0")
    with pytest.raises(ValueError, match="rate_limit_search_burst"):
        ApiSettings()


async def test_the_openapi_document_names_the_429(shared_api: httpx.AsyncClient) -> None:
    paths = (await shared_api.get("/api/openapi.json")).json()["paths"]
    for path, method in ((SEARCH, "get"), (IMPORT, "post")):
        documented = paths[path][method]["responses"]["429"]
        assert "Retry-After" in documented["headers"]
        assert documented["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")
