"""Search benchmarks: cache hits against a bare baseline, and cache misses over 100,000 recipes.

    python -m bench.search [--recipes 100000] [--duration 10] [--connections 32] [--skip-hits]
                           [--runs 3] [--miss-queries 200] [--clients 1]

Every figure is taken over `--runs` runs (3 at least) and printed as its median with the min and
the max; a figure whose runs spread by more than 20% is flagged (bench/spread.py). Cache misses:
distinct queries of three shapes (text; `have` with 10 foods; text + have + filters), from
`--clients` concurrent clients. Cache hits are measured on two api processes side by side: one
with the per-client rate limits on (raised far above what one benchmark client fires, so every
request still takes a token in Redis) and one with them off.

Needs the servers of `make services` and `wrk` (apt-get install wrk / brew install wrk; not with
--skip-hits, which measures the cache misses only). Creates (and afterwards drops) a database
`pantry_bench_<pid>` (or keeps and reuses `--database NAME`); writes bench/out/results.json
(results-misses.json with --skip-hits) and the query plans, with the indexes they use, to
bench/explain-*.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import asyncpg
import httpx

from bench.spread import line, spread
from bench.synth import load_synthetic
from pantry_common import (
    CommonSettings,
    FoodVocabulary,
    build_query,
    create_pool,
    migrate,
    seed_catalogue,
)
from pantry_common._interpret import read_filters
from pantry_common._search import build_sql, have_groups, sql_args

HERE = Path(__file__).parent
OUT = HERE / "out"


def _db(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def reuse(admin_dsn: str, name: str, recipes: int) -> str | None:
    """The DSN of a kept benchmark database with `recipes` recipes, migrated to the head."""
    admin = await asyncpg.connect(admin_dsn)
    try:
        found = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await admin.close()
    if not found:
        return None
    dsn = _db(admin_dsn, name)
    await asyncio.to_thread(migrate, dsn)
    conn = await asyncpg.connect(dsn)
    try:
        count = await conn.fetchval("SELECT count(*) FROM recipes")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    if count != recipes:
        raise SystemExit(f"database {name} has {count} recipes, not {recipes}")
    print(f"  reusing {name} ({count} recipes)")
    return dsn


async def prepare(
    admin_dsn: str, recipes: int, vocab: FoodVocabulary, name: str | None = None
) -> str:
    name = name or f"pantry_bench_{os.getpid()}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = _db(admin_dsn, name)
    await asyncio.to_thread(migrate, dsn)
    pool = await create_pool(CommonSettings(), dsn=dsn)
    seeded = await seed_catalogue(pool, vocab)
    await pool.close()
    conn = await asyncpg.connect(dsn)  # no statement or command timeout for the bulk load
    try:
        started = time.perf_counter()
        total = await load_synthetic(conn, recipes - seeded.recipes, vocab)
        print(f"  {total} recipes in the database ({time.perf_counter() - started:.1f} s to load)")
    finally:
        await conn.close()
    return dsn


async def benchmark_database(
    recipes: int, kept: str | None
) -> tuple[CommonSettings, str, FoodVocabulary, str]:
    """(settings, the admin DSN, the vocabulary, the benchmark database's DSN): `kept` reused
    when it exists with `recipes` recipes, else made (and kept under that name if given)."""
    common = CommonSettings()
    admin = os.environ.get("PANTRY_TEST_DATABASE_URL") or str(common.database_url)
    vocab = FoodVocabulary.default()
    print(f"preparing {recipes} recipes")
    dsn = (await reuse(admin, kept, recipes) if kept else None) or await prepare(
        admin, recipes, vocab, kept
    )
    return common, admin, vocab, dsn


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def wait_http(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert match, text
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return wrk_output(out)


def wrk_output(out: str) -> dict[str, float]:
    """Throughput, p50, p99 and the non-2xx count of `wrk --latency`'s report."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    if "99" not in lat:
        raise SystemExit(f"wrk completed no request (every one timed out?):\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": _ms(lat["50"]),
        "p99_ms": _ms(lat["99"]),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def cache_miss(
    base: str, queries: list[dict[str, Any]], clients: int = 1
) -> dict[str, float]:
    """Each query once, from `clients` concurrent clients (a connection each). A query that is
    not answered (a 503 when the statement timeout cuts it short) is counted, not timed."""
    timings: list[float] = []
    failed: list[int] = []

    async def client_run(share: list[dict[str, Any]]) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            for params in share:
                started = time.perf_counter()
                response = await client.get("/api/v1/recipes/search", params=params)
                if response.status_code == 503:
                    failed.append(503)
                    continue
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
                assert response.headers["x-cache"] == "miss", params

    await asyncio.gather(*(client_run(queries[i::clients]) for i in range(clients)))
    if not timings:
        raise RuntimeError(f"no query of {len(queries)} was answered")
    return {
        "n": len(timings),
        "unanswered": len(failed),
        "p50_ms": round(statistics.median(timings), 2),
        "p99_ms": round(percentile(timings, 99), 2),
        "max_ms": round(max(timings), 2),
    }


def miss_queries(
    vocab: FoodVocabulary, titles: list[str], n: int
) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(11)
    foods = [f for f in vocab.names() if " " not in f][:400]
    common = ["onion", "garlic", "rice", "chicken", "tomato", "egg", "butter", "potato", "lemon"]
    words = sorted({w.lower() for t in titles for w in re.findall(r"[A-Za-z]{4,}", t)})
    # Words that read as filters ("quick", "vegan") would make two queries one search.
    words = [w for w in words if read_filters(w, vocab).text == w]
    text: list[dict[str, Any]] = []
    have: list[dict[str, Any]] = []
    both: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(text) < n:
        q = " ".join(rng.sample(words, rng.choice([1, 2])))
        if q not in seen:
            seen.add(q)
            text.append({"q": q})
    while len(have) < n:
        items = rng.sample(common, 3) + rng.sample(foods, 7)  # 10 foods
        key = ",".join(sorted(items))
        if key not in seen:
            seen.add(key)
            have.append({"have": key})
    while len(both) < n:
        params: dict[str, Any] = {
            "q": rng.choice(words),
            "have": ",".join(rng.sample(common, 3)),
            "max_time": rng.choice([20, 30, 45, 60, 90]),
        }
        if rng.random() < 0.5:
            params["diet"] = rng.choice(["vegetarian", "vegan", "gluten-free"])
        if rng.random() < 0.5:
            params["exclude"] = rng.choice(["peanut", "dairy", "shellfish"])
        key = urlencode(sorted(params.items()))
        if key not in seen:
            seen.add(key)
            both.append(params)
    return {"text": text, "have": have, "text+have+filters": both}


async def explain(dsn: str, vocab: FoodVocabulary) -> None:
    cases: dict[str, dict[str, Any]] = {
        "text": {"q": "chicken curry"},
        "typo": {"q": "chiken curyy"},
        "have": {"have": "rice,onion,garlic,chicken thighs,tomato,egg,butter,lemon,potato,carrot"},
        "filters": {
            "q": "soup",
            "have": "onion,carrot",
            "diet": "vegan",
            "max_time": 45,
            "exclude": "peanut",
        },
    }
    conn = await asyncpg.connect(dsn)
    try:
        for name, params in cases.items():
            query = build_query(vocab, **params)
            sql = build_sql(query, len(have_groups(query, vocab)))
            rows = await conn.fetch(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, *sql_args(query, vocab)
            )
            plan = "\n".join(r[0] for r in rows)
            (HERE / f"explain-{name}.txt").write_text(
                f"-- {urlencode(params)} over the benchmark database\n{plan}\n"
            )
    finally:
        await conn.close()


async def cache_hits(
    api_base: str,
    unlimited_base: str,
    base_port: int,
    prefix: str,
    common: CommonSettings,
    args: argparse.Namespace,
) -> dict[str, dict[str, float]]:
    hit_path = "/api/v1/recipes/search?" + urlencode({"q": "chicken curry", "have": "rice,onion"})
    async with httpx.AsyncClient(base_url=api_base) as client:
        body = (await client.get(hit_path)).content
        assert (await client.get(hit_path)).headers["x-cache"] == "hit"
    from redis.asyncio import Redis

    redis = Redis.from_url(str(common.redis_url))
    await redis.set(f"{prefix}:baseline", body.replace(b'"cache":"miss"', b'"cache":"hit"'))
    await redis.aclose()

    print(
        "cache hits (wrk, one thread) — api with and without its rate limits vs bare baseline,"
        f" alternating, {args.runs} runs"
    )
    runs: dict[str, list[dict[str, float]]] = {"api": [], "api-nolimit": [], "baseline": []}
    ratios: list[float] = []
    limit_ratios: list[float] = []
    for _ in range(args.runs):
        runs["baseline"].append(
            wrk(f"http://127.0.0.1:{base_port}/", args.duration, args.connections)
        )
        runs["api"].append(wrk(api_base + hit_path, args.duration, args.connections))
        runs["api-nolimit"].append(wrk(unlimited_base + hit_path, args.duration, args.connections))
        ratios.append(runs["api"][-1]["rps"] / runs["baseline"][-1]["rps"])
        limit_ratios.append(runs["api"][-1]["rps"] / runs["api-nolimit"][-1]["rps"])
    refused = sum(r["non_2xx"] for r in runs["api"] + runs["api-nolimit"])
    if refused:
        raise SystemExit(f"{refused:.0f} hits were not answered 200 (a rate limit?)")
    out: dict[str, Any] = {}
    for k in ("api", "api-nolimit", "baseline"):
        rps = [r["rps"] for r in runs[k]]
        p99 = [r["p99_ms"] for r in runs[k]]
        print("  " + line(f"{k:11} throughput", rps, "req/s", 0))
        print("  " + line(f"{k:11} p99       ", p99, "ms"))
        out[k] = {"rps": spread(rps), "p99_ms": spread(p99), "runs": runs[k]}
    print("  " + line("api/baseline ratio (side by side)", ratios, "", 3))
    print("  " + line("limits on/off ratio (side by side)", limit_ratios, "", 3))
    out["ratio"] = spread(ratios)
    out["limits_ratio"] = spread(limit_ratios)
    return out


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipes", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--miss-queries", type=int, default=200, help="per run and shape")
    parser.add_argument("--runs", type=int, default=3, help="runs of each figure (3 at least)")
    parser.add_argument("--clients", type=int, default=1, help="concurrent clients for misses")
    parser.add_argument(
        "--database",
        help="keep the benchmark database under this name, and reuse it when it exists"
        " (a catalogue of 1,000,000 recipes takes a while to load)",
    )
    parser.add_argument(
        "--skip-hits", action="store_true", help="only the cache misses (and the query plans)"
    )
    args = parser.parse_args()
    if args.runs < 3:
        parser.error("--runs: at least 3, so that the spread of a figure shows")
    if not args.skip_hits and shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk, or brew install wrk", file=sys.stderr)
        return 2
    common, admin, vocab, dsn = await benchmark_database(args.recipes, args.database)
    kept = args.database
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PANTRY_DATABASE_URL": dsn,
        "PANTRY_REDIS_PREFIX": prefix,
        "PANTRY_ENVIRONMENT": "development",
        "PANTRY_LOG_LEVEL": "WARNING",
    }
    # One client fires everything here: the api's per-client limits are on (every request takes
    # a token) but far above what the benchmark fires; a second api without them, side by side.
    env.update(
        PANTRY_API_RATE_LIMIT_SEARCH_PER_SECOND="1000000",
        PANTRY_API_RATE_LIMIT_SEARCH_BURST="1000000",
    )
    api_port, base_port, unlimited_port = _free_port(), _free_port(), _free_port()
    procs = [start([sys.executable, "-m", "pantry_api"], {**env, "PANTRY_API_PORT": str(api_port)})]
    if not args.skip_hits:
        unlimited = {
            **env,
            "PANTRY_API_PORT": str(unlimited_port),
            "PANTRY_API_RATE_LIMIT_ENABLED": "false",
        }
        procs.append(start([sys.executable, "-m", "pantry_api"], unlimited))
        baseline = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.baseline:app",
            "--port",
            str(base_port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        procs.append(start(baseline, {**env, "BASELINE_KEY": f"{prefix}:baseline"}))
    results: dict[str, Any] = {
        "recipes": args.recipes,
        "connections": args.connections,
        "duration_s": args.duration,
        "cpus": os.cpu_count(),
    }
    try:
        api_base = f"http://127.0.0.1:{api_port}"
        await wait_http(api_base + "/api/v1/health")
        if not args.skip_hits:
            await wait_http(f"http://127.0.0.1:{base_port}/")
            unlimited_base = f"http://127.0.0.1:{unlimited_port}"
            await wait_http(unlimited_base + "/api/v1/health")
            results["cache_hit"] = await cache_hits(
                api_base, unlimited_base, base_port, prefix, common, args
            )
        conn = await asyncpg.connect(dsn)
        titles = [
            r["title"]
            for r in await conn.fetch("SELECT title FROM recipes WHERE source = 'catalogue'")
        ]
        await conn.close()
        print(
            f"cache misses ({args.clients} client{'s' if args.clients > 1 else ''},"
            f" distinct queries, {args.runs} runs of {args.miss_queries})"
        )
        results["cache_miss"] = {}
        every = miss_queries(vocab, titles, args.miss_queries * args.runs)
        for kind, queries in every.items():
            stats = [
                await cache_miss(api_base, queries[r :: args.runs], args.clients)
                for r in range(args.runs)
            ]
            results["cache_miss"][kind] = {
                "p50_ms": spread([s["p50_ms"] for s in stats]),
                "p99_ms": spread([s["p99_ms"] for s in stats]),
                "runs": stats,
            }
            unanswered = sum(int(s["unanswered"]) for s in stats)
            print(f"  {kind}" + (f" ({unanswered} unanswered: 503)" if unanswered else ""))
            print("    " + line("p50", [s["p50_ms"] for s in stats], "ms"))
            print("    " + line("p99", [s["p99_ms"] for s in stats], "ms"))
        await explain(dsn, vocab)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        if not kept:
            admin_conn = await asyncpg.connect(admin)
            name = dsn.rsplit("/", 1)[1]
            await admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin_conn.close()
    OUT.mkdir(exist_ok=True)
    name = "results-misses.json" if args.skip_hits else "results.json"
    if args.clients > 1:
        name = name.replace(".json", f"-{args.clients}-clients.json")
    (OUT / name).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
