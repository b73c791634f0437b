"""The asynchronous path, measured with the three services as real processes:

* search → first `search.results` event on an SSE client, p50 and p99 (local sources: the
  bundled feed), one search at a time, each a different dish;
* the same while a burst of `--backlog` distinct searches (10,000) waits in the engine's queue:
  the page's subscription puts its search on the watched lane, ahead of the queue;
* the engine: recipes analysed and stored per second by one process.

    python -m bench.discovery [--searches 60] [--backlog 10000] [--recipes 4000]

Needs the servers of `make services`. Creates and drops its own database and vhost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
import httpx

from pantry_common import (
    SEARCH_QUEUE,
    CommonSettings,
    Envelope,
    FoodVocabulary,
    SearchCriteria,
    SearchRequested,
    build_query,
    catalogue_documents,
    create_pool,
    migrate,
    seed_catalogue,
    to_message,
)

OUT = Path(__file__).parent / "out"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def ctl(*args: str) -> None:
    proc = await asyncio.create_subprocess_exec("rabbitmqctl", "-q", *args)
    await proc.wait()


async def fresh_database(admin: str, name: str) -> str:
    conn = await asyncpg.connect(admin)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    dsn = urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
    await asyncio.to_thread(migrate, dsn)
    pool = await create_pool(CommonSettings(), dsn=dsn)
    await seed_catalogue(pool, FoodVocabulary.default())
    await pool.close()
    return dsn


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} not ready")


async def first_results(api: httpx.AsyncClient, sse: httpx.AsyncClient, q: str) -> float | None:
    started = time.perf_counter()
    body = (await api.get("/api/v1/recipes/search", params={"q": q})).json()
    if body["status"] != "refreshing":
        return None
    async with sse.stream("GET", body["events_url"]) as stream:
        event = None
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
                if event == "search.results":
                    return (time.perf_counter() - started) * 1000
                if event in ("search.completed", "search.failed"):
                    return None
    return None


def burst_message(vocab: FoodVocabulary, i: int) -> Envelope:
    query = build_query(vocab, q=f"burst{i} soup")
    return Envelope.wrap(
        SearchRequested(
            search_id=uuid.UUID(query.search_id),
            criteria=SearchCriteria(**query.criteria()),
        )
    )


def summary(searches: int, timings: list[float]) -> dict[str, Any]:
    if not timings:
        return {"searches": searches, "with_results": 0}
    return {
        "searches": searches,
        "with_results": len(timings),
        "p50_ms": round(statistics.median(timings), 1),
        "p99_ms": round(percentile(timings, 99), 1),
        "max_ms": round(max(timings), 1),
    }


def report(what: str, r: dict[str, Any]) -> None:
    if not r["with_results"]:
        print(f"{what}: no search had live results")
        return
    print(
        f"{what} ({r['with_results']}/{r['searches']} searches): "
        f"p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms  max {r['max_ms']} ms"
    )


def variants(count: int, group: int) -> list[dict[str, Any]]:
    """Distinct recipes: catalogue dishes renamed with a group token the search can find."""
    base = list(catalogue_documents("feed")) + list(catalogue_documents("starter"))
    out = []
    for i in range(count):
        doc = dict(base[i % len(base)])
        doc["name"] = f"{doc['name']} grp{i // group} no{i}"
        doc["identifier"] = f"bench-{i}"
        out.append(doc)
    return out


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--searches", type=int, default=60)
    parser.add_argument("--recipes", type=int, default=4000)
    parser.add_argument("--group", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=10_000, help="queued searches")
    args = parser.parse_args()
    common = CommonSettings()
    admin = os.environ.get("PANTRY_TEST_DATABASE_URL") or str(common.database_url)
    name = f"pantry_disc_{os.getpid()}"
    vhost = f"bench_{uuid.uuid4().hex[:8]}"
    await ctl("add_vhost", vhost)
    await ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    amqp = urlunsplit(urlsplit(str(common.rabbitmq_url))._replace(path=f"/{vhost}"))
    dsn = await fresh_database(admin, name)
    feed = Path(tempfile.mkdtemp()) / "feed.json"
    feed.write_text(json.dumps(variants(args.recipes, args.group)))
    api_port, rt_port, engine_port = _free_port(), _free_port(), _free_port()
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PANTRY_DATABASE_URL": dsn,
        "PANTRY_RABBITMQ_URL": amqp,
        "PANTRY_REDIS_PREFIX": prefix,
        "PANTRY_LOG_LEVEL": "WARNING",
        "PANTRY_API_PORT": str(api_port),
        "PANTRY_REALTIME_PORT": str(rt_port),
        "PANTRY_ENGINE_PORT": str(engine_port),
        "PANTRY_ENGINE_SOURCES": "catalogue",
        "PANTRY_API_EVENTS_URL": f"http://127.0.0.1:{rt_port}/events",
    }
    procs = [
        subprocess.Popen([sys.executable, "-m", m], env=env)
        for m in ("pantry_api", "pantry_realtime", "pantry_engine")
    ]
    results: dict[str, Any] = {"cpus": os.cpu_count()}
    try:
        await wait_ready(f"http://127.0.0.1:{api_port}/api/v1/ready")
        await wait_ready(f"http://127.0.0.1:{rt_port}/ready")
        await wait_ready(f"http://127.0.0.1:{engine_port}/ready")
        dishes = [d["name"] for d in catalogue_documents("feed")][: args.searches]
        timings: list[float] = []
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", timeout=30) as api,
            httpx.AsyncClient(timeout=30) as sse,
        ):
            for dish in dishes:
                took = await first_results(api, sse, dish)
                if took is not None:
                    timings.append(took)
        results["search_to_first_results"] = summary(len(dishes), timings)
        report("search → first search.results", results["search_to_first_results"])

        # A burst: distinct searches queued (as the outbox relays them; the engine stopped
        # meanwhile, so that all of them wait), then users' searches, one at a time.
        procs[2].terminate()
        procs[2].wait(30)
        vocab = FoodVocabulary.default()
        connection = await aio_pika.connect(amqp)
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("pantry")
        started = time.perf_counter()
        for start in range(0, args.backlog, 500):
            await asyncio.gather(
                *(
                    exchange.publish(to_message(burst_message(vocab, i)), "search.requested")
                    for i in range(start, min(start + 500, args.backlog))
                )
            )
        print(f"{args.backlog} searches queued in {time.perf_counter() - started:.1f} s")
        procs[2] = subprocess.Popen([sys.executable, "-m", "pantry_engine"], env=env)
        await wait_ready(f"http://127.0.0.1:{engine_port}/ready")
        queue = await channel.declare_queue(SEARCH_QUEUE, passive=True)
        queued = queue.declaration_result.message_count or 0
        timings = []
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", timeout=60) as api,
            httpx.AsyncClient(timeout=60) as sse,
        ):
            # Feed dishes the first part did not search for: each finds live results.
            feed_dishes = [d["name"] for d in catalogue_documents("feed")]
            later = feed_dishes[args.searches : args.searches + 20]
            for dish in later:
                took = await first_results(api, sse, dish)
                if took is not None:
                    timings.append(took)
        queue = await channel.declare_queue(SEARCH_QUEUE, passive=True)
        left = queue.declaration_result.message_count or 0
        await queue.purge()
        await connection.close()
        results["burst"] = {
            "queued": queued,
            "still_queued_after": left,
            **summary(len(later), timings),
        }
        report(
            f"with {queued} searches queued ({left} still queued after)",
            results["burst"],
        )

        # The engine alone, on a feed of distinct recipes: one process, default concurrency.
        procs[2].terminate()
        procs[2].wait(30)
        engine_env = {
            **env,
            "PANTRY_ENGINE_CATALOGUE_URL": str(feed),
            "PANTRY_ENGINE_MAX_CANDIDATES": str(args.group),
        }
        procs[2] = subprocess.Popen([sys.executable, "-m", "pantry_engine"], env=engine_env)
        await wait_ready(f"http://127.0.0.1:{engine_port}/ready")
        conn = await asyncpg.connect(dsn)
        before = await conn.fetchval("SELECT count(*) FROM recipes")
        handled_before = await conn.fetchval("SELECT count(*) FROM processed_messages")
        connection = await aio_pika.connect(amqp)
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("pantry")
        groups = args.recipes // args.group
        started = time.perf_counter()
        for g in range(groups):
            query = build_query(vocab, q=f"grp{g}", limit=1)
            envelope = Envelope.wrap(
                SearchRequested(
                    search_id=uuid.UUID(query.search_id),
                    criteria=SearchCriteria(**query.criteria()),
                )
            )
            await exchange.publish(to_message(envelope), routing_key="search.requested")
        await connection.close()
        while True:
            done = await conn.fetchval("SELECT count(*) FROM processed_messages")
            if done >= handled_before + groups:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        stored = await conn.fetchval("SELECT count(*) FROM recipes") - before
        await conn.close()
        results["engine"] = {
            "recipes": stored,
            "seconds": round(elapsed, 2),
            "recipes_per_second": round(stored / elapsed, 1),
            "messages": groups,
            "per_message": args.group,
        }
        print(
            f"engine: {stored} recipes analysed and stored in {elapsed:.1f} s "
            f"= {stored / elapsed:.0f} recipes/s (one process)"
        )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
        await ctl("delete_vhost", vhost)
    OUT.mkdir(exist_ok=True)
    (OUT / "discovery.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
