"""A burst of new recipes: cached answers caught up (`X-Cache: delta`) against searched anew.

    python -m bench.catchup [--recipes 100000] [--database NAME] [--queries 100] [--runs 3]
                            [--bursts 16,1000]

For the query shapes of `bench.search` (text; `have` with 10 foods; text + have + filters), one
page each is searched in full, as a miss does; then a burst of new recipes is stored (16: one
second of 1,000 a minute; 1,000: a whole minute of it, an answer asked once a minute), and each
page is brought up to date with `catch_up`, beside the full search it saves, both timed on one
connection. Each caught-up page is checked against the full search (the same recipes in the
same order, the same total); a page that cannot be caught up (a later page pushed along, text
that now matches every word) is counted and then searched in full, as the api does.

The burst is stored in a transaction that is rolled back, so a kept database (`--database`,
as `bench.search` makes it) stays as it was. Needs the servers of `make services`. Writes
bench/out/catchup.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.search import benchmark_database, miss_queries, percentile
from bench.spread import line, spread
from pantry_common import (
    AnalysedRecipe,
    Basis,
    FoodVocabulary,
    RecipeError,
    analyse_recipe,
    build_query,
    catalogue_documents,
    catch_up,
    search_recipes,
    upsert_recipe,
)

OUT = Path(__file__).parent / "out"


def new_recipes(vocab: FoodVocabulary, n: int) -> list[AnalysedRecipe]:
    """`n` recipes the catalogue does not have: the bundled dishes, each under new names."""
    docs = [*catalogue_documents("feed"), *catalogue_documents("starter")]
    out: list[AnalysedRecipe] = []
    round_ = 0
    while len(out) < n:
        round_ += 1
        for doc in docs:
            try:
                recipe = analyse_recipe(
                    {**doc, "name": f"{doc['name']} No. {round_}"}, source="bench", vocab=vocab
                )
            except RecipeError:
                continue
            out.append(recipe)
            if len(out) == n:
                break
    return out


async def timed(coro: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = await coro
    return value, (time.perf_counter() - started) * 1000


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values), 2),
        "p99_ms": round(percentile(values, 99), 2),
    }


async def one_run(
    conn: asyncpg.Connection[Any],
    vocab: FoodVocabulary,
    queries: list[dict[str, Any]],
    burst: list[AnalysedRecipe],
) -> dict[str, Any]:
    parsed = [build_query(vocab, **params) for params in queries]
    bases: list[Basis | None] = [
        Basis.of(await search_recipes(conn, query, vocab)) for query in parsed
    ]
    full_ms: list[float] = []
    delta_ms: list[float] = []
    fell_back = 0
    tx = conn.transaction()
    await tx.start()
    try:
        for recipe in burst:
            await upsert_recipe(conn, recipe)
        for query, basis in zip(parsed, bases, strict=True):
            full, ms = await timed(search_recipes(conn, query, vocab))
            full_ms.append(ms)
            if basis is None:  # no page to anchor a catch-up: a miss, as in the api
                fell_back += 1
                continue
            page, ms = await timed(catch_up(conn, query, vocab, basis))
            if page is None:
                fell_back += 1
                continue
            delta_ms.append(ms)
            want = [r["id"] for r in full.results]
            got = [r["id"] for r in page.results]
            assert (got, page.total) == (want, full.total), (query, got, want)
    finally:
        await tx.rollback()
    return {
        "queries": len(parsed),
        "full": summary(full_ms),
        "delta": summary(delta_ms) if delta_ms else None,
        "fell_back": fell_back,
    }


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipes", type=int, default=100_000)
    parser.add_argument("--database", help="a kept catalogue of `bench.search --database`")
    parser.add_argument("--queries", type=int, default=100, help="per run and shape")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bursts", default="16,1000", help="new recipes, comma-separated")
    args = parser.parse_args()
    if args.runs < 3:
        parser.error("--runs: at least 3, so that the spread of a figure shows")
    bursts = [int(b) for b in args.bursts.split(",")]
    common, admin, vocab, dsn = await benchmark_database(args.recipes, args.database)
    kept = args.database
    recipes = new_recipes(vocab, max(bursts))
    conn = await asyncpg.connect(dsn)
    results: dict[str, Any] = {"recipes": args.recipes, "cpus": os.cpu_count(), "bursts": {}}
    try:
        await conn.execute("SET jit = off")
        titles = [
            r["title"]
            for r in await conn.fetch("SELECT title FROM recipes WHERE source = 'catalogue'")
        ]
        every = miss_queries(vocab, titles, args.queries * args.runs)
        for size in bursts:
            print(f"after {size} new recipes ({args.runs} runs of {args.queries} per shape)")
            results["bursts"][size] = {}
            for kind, queries in every.items():
                runs = [
                    await one_run(conn, vocab, queries[r :: args.runs], recipes[:size])
                    for r in range(args.runs)
                ]
                caught = [r for r in runs if r["delta"]]
                row: dict[str, Any] = {"runs": runs}
                for side in ("full", "delta"):
                    for stat in ("p50_ms", "p99_ms"):
                        values = [r[side][stat] for r in (runs if side == "full" else caught)]
                        if values:
                            row[f"{side}_{stat}"] = spread(values)
                            print(line(f"  {kind:18} {side:5} {stat[:3]}", values, "ms"))
                share = sum(r["fell_back"] for r in runs) / sum(r["queries"] for r in runs)
                row["fell_back"] = round(share, 3)
                print(f"  {kind:18} searched in full instead: {share:.1%}")
                results["bursts"][size][kind] = row
    finally:
        await conn.close()
        if not kept:
            drop = await asyncpg.connect(admin)
            name = dsn.rsplit("/", 1)[1]
            await drop.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await drop.close()
    OUT.mkdir(exist_ok=True)
    (OUT / "catchup.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
