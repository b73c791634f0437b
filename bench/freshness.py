"""What a burst of new recipes does to the cache: the share of cached answers each one makes stale.

    python -m bench.freshness [--queries 200] [--rate 1000]

The api keeps an answer while none of the terms it matched by (the lexemes of its words, or the
foods its `have` covers) has been stamped since it was computed; storing a recipe stamps the
lexemes of its document and its foods. This takes the bench's query mix (title words, pantries,
text + have + filters) over the seeded catalogue, and as new recipes the bundled feed's (not in
the seed); for each query, p = the share of new recipes that touch its answer. At `rate` new
recipes a minute, an answer asked again after t seconds is still a hit with probability
(1 - p) ** (rate / 60 * t). Left out: the `words` stamp, which only a recipe that brings a word
the corrector did not know gives (to answers whose words were corrected). Needs PostgreSQL
(`make services`); creates and drops a database. Writes bench/out/freshness.json.

A stale answer is not searched in full again but caught up with the recipes written since
(`X-Cache: delta`): what that costs beside a full search is `bench/catchup.py`'s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

import asyncpg

from bench.search import miss_queries
from pantry_common import (
    CommonSettings,
    FoodVocabulary,
    RecipeError,
    analyse_recipe,
    build_query,
    catalogue_documents,
    create_pool,
    food_tag,
    have_kinds,
    lexeme_tag,
    migrate,
    search_recipes,
    seed_catalogue,
    text_lexemes,
)

OUT = Path(__file__).parent / "out"


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=200, help="queries of each kind")
    parser.add_argument("--rate", type=int, default=1000, help="new recipes a minute")
    args = parser.parse_args()
    admin_dsn = os.environ.get("PANTRY_TEST_DATABASE_URL") or str(CommonSettings().database_url)
    name = f"pantry_fresh_{os.getpid()}"
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    vocab = FoodVocabulary.default()
    results: dict[str, Any] = {"rate_per_minute": args.rate}
    try:
        await asyncio.to_thread(migrate, dsn)
        pool = await create_pool(CommonSettings(), dsn=dsn)
        await seed_catalogue(pool, vocab)
        titles = [r["title"] for r in await pool.fetch("SELECT title FROM recipes")]
        new: list[set[str]] = []
        for doc in catalogue_documents("feed"):
            try:
                recipe = analyse_recipe(doc, source="catalogue", vocab=vocab)
            except RecipeError:
                continue
            text = " ".join([recipe.title, recipe.ingredient_text, recipe.description_text])
            lexemes = await pool.fetchval(
                "SELECT tsvector_to_array(to_tsvector('english', pantry_unaccent($1)))", text
            )
            new.append({lexeme_tag(x) for x in lexemes} | {food_tag(f) for f in recipe.foods})
        results["new_recipes"] = len(new)
        print(f"{len(new)} new recipes, {statistics.mean(len(t) for t in new):.0f} terms each")
        per_second = args.rate / 60
        for kind, queries in miss_queries(vocab, titles, args.queries).items():
            shares = []
            for params in queries:
                query = build_query(vocab, **params)
                page = await search_recipes(pool, query, vocab)
                if query.text:
                    words = f"{query.text} {page.corrected or ''}"
                    tags = {lexeme_tag(x) for x in await text_lexemes(pool, words)}
                else:
                    tags = {food_tag(f) for f in have_kinds(query, vocab)}
                shares.append(sum(1 for terms in new if terms & tags) / len(new))
            shares.sort()
            row = {
                "n": len(shares),
                "p50": round(shares[len(shares) // 2], 3),
                "p90": round(shares[int(len(shares) * 0.9)], 3),
                **{
                    f"hit_after_{t}s": round(
                        statistics.mean((1 - p) ** (per_second * t) for p in shares), 3
                    )
                    for t in (1, 10, 60)
                },
            }
            results[kind] = row
            print(
                f"  {kind:18} p50 {row['p50']:.3f}  p90 {row['p90']:.3f}  still a hit after "
                f"1 s {row['hit_after_1s']:.0%}, 10 s {row['hit_after_10s']:.0%}, "
                f"60 s {row['hit_after_60s']:.0%}"
            )
        await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    OUT.mkdir(exist_ok=True)
    (OUT / "freshness.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
