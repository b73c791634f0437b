"""Soak: the api and the engine under a steady search load for minutes, with their memory.

    python -m bench.soak [--minutes 10] [--share 0.7] [--recipes 20000] [--database NAME]
                         [--connections 16] [--miss-share 0.05]

First the maximum search rate of the mix (wrk, `--connections`, no pause, 3 runs of 15 s: the
median), then `--minutes` at `--share` of it: each of wrk's connections waits between requests
so that together they send about that rate (the rate achieved is reported). The mix: popular
searches (200 of them, hits once cached) and a share of searches never seen before
(`--miss-share`: a PostgreSQL query each, and a refresh request that the engine handles).

The resident memory (RSS) of the api and the engine is sampled every 10 s; the figures are the
first sample after a minute's warm-up, the last, the highest, and the slope of a least-squares
line through the samples after the warm-up.

Needs the servers of `make services` and `wrk`. Creates (and afterwards drops) a database, or
reuses `--database NAME` (bench/search.py's). Writes bench/out/soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg

from bench.search import OUT, _free_port, benchmark_database, start, wait_http, wrk_output
from bench.spread import line
from pantry_common import FoodVocabulary

WARM_UP_S = 60
SAMPLE_S = 10

# wrk's Lua: each request is a popular search (from a list) or, with probability MISS, one most
# likely never seen (three random words of the titles); with PAUSE > 0 each connection waits
# PAUSE ms between requests.
SCRIPT = """
local popular = {%(popular)s}
local words = {%(words)s}
local miss, pause = %(miss)f, %(pause)f
local counter = 0
function setup(thread) thread:set("id", counter); counter = counter + 1 end
function init(args) math.randomseed(os.time() + id * 7919) end
function request()
  local q
  if math.random() < miss then
    q = "q=" .. words[math.random(#words)] .. "+" .. words[math.random(#words)] .. "+"
      .. words[math.random(#words)]
  else
    q = popular[math.random(#popular)]
  end
  return wrk.format("GET", "/api/v1/recipes/search?" .. q)
end
if pause > 0 then function delay() return pause end end
"""


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (`ps`, on Linux and macOS alike)."""
    out = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True)
    return int(out.stdout.strip() or 0) / 1024


def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    if len(samples) < 2:
        return 0.0
    xs = [t / 60 for t, _ in samples]
    ys = [m for _, m in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


def popular_queries(titles: list[str], vocab: FoodVocabulary) -> list[str]:
    """200 searches: 120 titles as text, and 80 pantries of three foods."""
    foods = [f for f in vocab.names() if " " not in f][:240]
    queries = [urlencode({"q": t.lower()}) for t in titles[:120]]
    queries += [urlencode({"have": ",".join(foods[i : i + 3])}) for i in range(0, 240, 3)]
    return queries


def title_words(titles: list[str]) -> list[str]:
    return sorted({w.lower() for t in titles for w in re.findall(r"[A-Za-z]{4,}", t)})[:400]


def run_wrk(base: str, script: Path, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(script),
            base,
        ],  # fmt: skip
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return wrk_output(out)


def write_script(
    path: Path, popular: list[str], words: list[str], miss: float, pause_ms: float
) -> Path:
    path.write_text(
        SCRIPT
        % {
            "popular": ", ".join(json.dumps(q) for q in popular),
            "words": ", ".join(json.dumps(w) for w in words),
            "miss": miss,
            "pause": pause_ms,
        }
    )
    return path


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--share", type=float, default=0.7, help="of the measured maximum rate")
    parser.add_argument("--recipes", type=int, default=20_000)
    parser.add_argument("--database", help="keep and reuse the benchmark database by this name")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--miss-share", type=float, default=0.05)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk, or brew install wrk", file=sys.stderr)
        return 2
    common, admin, vocab, dsn = await benchmark_database(args.recipes, args.database)
    kept = args.database
    prefix = f"soak{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PANTRY_DATABASE_URL": dsn,
        "PANTRY_REDIS_PREFIX": prefix,
        "PANTRY_ENVIRONMENT": "development",
        "PANTRY_LOG_LEVEL": "WARNING",
        "PANTRY_API_RATE_LIMIT_ENABLED": "false",
        "PANTRY_ENGINE_SOURCES": "catalogue",
    }
    api_port, engine_port = _free_port(), _free_port()
    api = start([sys.executable, "-m", "pantry_api"], {**env, "PANTRY_API_PORT": str(api_port)})
    engine = start(
        [sys.executable, "-m", "pantry_engine"], {**env, "PANTRY_ENGINE_PORT": str(engine_port)}
    )
    base = f"http://127.0.0.1:{api_port}"
    results: dict[str, Any] = {"recipes": args.recipes, "cpus": os.cpu_count(), **vars(args)}
    try:
        await wait_http(base + "/api/v1/health")
        await wait_http(f"http://127.0.0.1:{engine_port}/health")
        conn = await asyncpg.connect(dsn)
        titles = [r["title"] for r in await conn.fetch("SELECT title FROM recipes ORDER BY id")]
        await conn.close()
        popular, words = popular_queries(titles, vocab), title_words(titles)
        with tempfile.TemporaryDirectory() as tmp:
            flat_out = write_script(Path(tmp) / "max.lua", popular, words, args.miss_share, 0)
            run_wrk(base, flat_out, 10, args.connections)  # fills the cache with the popular ones
            maxima = [run_wrk(base, flat_out, 15, args.connections) for _ in range(3)]
            print("  " + line("maximum rate of the mix", [m["rps"] for m in maxima], "req/s", 0))
            top = statistics.median(m["rps"] for m in maxima)
            target = top * args.share
            # A connection's cycle is its request (about connections / top s at full speed) and
            # then the pause: together connections / target s.
            pause = args.connections * 1000 * (1 / target - 1 / top)
            steady = write_script(Path(tmp) / "soak.lua", popular, words, args.miss_share, pause)
            seconds = int(args.minutes * 60)
            print(f"soak: {args.minutes:g} min at {target:.0f} req/s ({args.share:.0%})")
            samples: dict[str, list[tuple[float, float]]] = {"api": [], "engine": []}
            stop = threading.Event()
            began = time.monotonic()

            def sample() -> None:
                while not stop.wait(SAMPLE_S):
                    at = time.monotonic() - began
                    samples["api"].append((at, rss_mb(api.pid)))
                    samples["engine"].append((at, rss_mb(engine.pid)))

            idle = {"api": rss_mb(api.pid), "engine": rss_mb(engine.pid)}
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            load = await asyncio.to_thread(run_wrk, base, steady, seconds, args.connections)
            stop.set()
            sampler.join()
            for name, proc in (("api", api), ("engine", engine)):  # and one at the end
                samples[name].append((time.monotonic() - began, rss_mb(proc.pid)))
        results["max_rps"] = top
        results["soak"] = load
        print(
            f"  achieved {load['rps']:.0f} req/s, p50 {load['p50_ms']:.2f} ms,"
            f" p99 {load['p99_ms']:.2f} ms, non-2xx {load['non_2xx']:.0f}"
        )
        results["rss_mb"] = {}
        for name, points in samples.items():
            after = [(t, m) for t, m in points if t >= WARM_UP_S] or points
            figures = {
                "before_load": idle[name],
                "start": after[0][1],
                "end": after[-1][1],
                "max": max(m for _, m in after),
                "slope_mb_per_min": slope_mb_per_min(after),
                "samples": points,
            }
            results["rss_mb"][name] = figures
            print(
                f"  {name:6} RSS: before {figures['before_load']:.1f} MiB, after warm-up"
                f" {figures['start']:.1f}, end {figures['end']:.1f}, max {figures['max']:.1f},"
                f" slope {figures['slope_mb_per_min']:+.2f} MiB/min"
            )
    finally:
        for proc in (api, engine):
            proc.terminate()
            proc.wait(timeout=30)
        if not kept:
            admin_conn = await asyncpg.connect(admin)
            await admin_conn.execute(
                f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)'
            )
            await admin_conn.close()
    OUT.mkdir(exist_ok=True)
    (OUT / "soak.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
