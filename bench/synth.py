"""Expand the bundled catalogue into N distinct synthetic recipes, for load (not for users).

Each synthetic recipe is a variant of a catalogue recipe: a new title (a style word, sometimes
"with <food>"), one or two foods swapped for a sibling food, an extra food, a shifted time. Diets
are derived from the new foods with the same vocabulary rules as real recipes. Rows are written
with COPY into a staging table, then INSERT … SELECTs write the recipes and, as `upsert_recipe`
does, their food ids and search rows.
"""

from __future__ import annotations

import random
from typing import Any

from pantry_common import (
    FoodVocabulary,
    analyse_recipe,
    catalogue_documents,
    derive_diets,
    normalise_text,
)
from pantry_common._recipes import AnalysedRecipe, fingerprint
from pantry_common._store import FOOD_TERMS_SQL, SEARCH_COLUMNS_SQL, SEARCH_ROW_SQL

STYLES = [
    "Easy",
    "Rustic",
    "Weeknight",
    "Spicy",
    "Smoky",
    "Herby",
    "Crispy",
    "Creamy",
    "Lemony",
    "Garlicky",
    "Sheet-Pan",
    "One-Pot",
    "Grandma's",
    "Slow-Cooker",
    "Quick",
    "Fiery",
    "Golden",
    "Sunday",
    "Street-Style",
    "Country",
    "Charred",
    "Zesty",
    "Hearty",
    "Light",
    "Festive",
    "Coastal",
    "Village",
    "Midnight",
    "Harvest",
    "Spring",
    "Summer",
    "Autumn",
    "Winter",
]
EXTRAS = [
    "spinach",
    "kale",
    "feta",
    "chickpea",
    "mushroom",
    "lemon",
    "chorizo",
    "bacon",
    "tofu",
    "sweet potato",
    "almond",
    "pistachio",
    "peanut",
    "coconut milk",
    "chili",
    "ginger",
    "basil",
    "mint",
    "halloumi",
    "shrimp",
    "salmon",
    "lentil",
    "quinoa",
    "avocado",
    "corn",
    "pea",
]


def base_recipes(vocab: FoodVocabulary) -> list[AnalysedRecipe]:
    docs = [*catalogue_documents("starter"), *catalogue_documents("feed")]
    return [analyse_recipe(doc, source="catalogue", vocab=vocab) for doc in docs]


def _siblings(vocab: FoodVocabulary) -> dict[str, list[str]]:
    by_parent: dict[str, list[str]] = {}
    for name in vocab.names():
        for parent in vocab.parents(name):
            by_parent.setdefault(parent, []).append(name)
    return by_parent


def synthesise(n: int, vocab: FoodVocabulary, seed: int = 7) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    bases = base_recipes(vocab)
    siblings = _siblings(vocab)
    extras = [e for e in (vocab.canonical(x) for x in EXTRAS) if e]
    rows: list[tuple[Any, ...]] = []
    for i in range(n):
        base = bases[i % len(bases)]
        foods = list(base.foods)
        for _ in range(rng.randint(0, 2)):
            if not foods:
                break
            k = rng.randrange(len(foods))
            parents = sorted(vocab.parents(foods[k])) if foods[k] in vocab else []
            choices = siblings.get(parents[0], []) if parents else []
            if choices:
                foods[k] = rng.choice(choices)
        extra = rng.choice(extras) if rng.random() < 0.5 else None
        if extra:
            foods.append(extra)
        foods = sorted(set(foods))
        title = f"{rng.choice(STYLES)} {base.title}" + (f" with {extra.title()}" if extra else "")
        closure: set[str] = set()
        for food in foods:
            closure |= vocab.closure(food) if food in vocab else {food}
        diets = sorted(d.value for d in derive_diets(foods, vocab))
        total = max(5, (base.total_time_min or 30) + rng.randint(-10, 25))
        rows.append(
            (
                f"synthetic-{i}-{base.slug}"[:120],
                title,
                base.description,
                base.cuisine,
                base.course,
                base.keywords,
                total,
                diets,
                foods,
                sorted(closure),
                f"synthetic-{i}-" + fingerprint(title, foods),
                " ".join(foods),
                base.description_text,
            )
        )
    return rows


async def load_synthetic(conn: Any, n: int, vocab: FoodVocabulary) -> int:
    rows = synthesise(n, vocab)
    async with conn.transaction():
        await conn.execute("SET LOCAL statement_timeout = 0")
        await conn.execute(
            """CREATE TEMP TABLE synth (slug text, title text, description text, cuisine text,
               course text, keywords text[], total_time_min int, diets text[], foods text[],
               food_closure text[], fingerprint text, food_text text, desc_text text)
               ON COMMIT DROP"""
        )
        await conn.copy_records_to_table("synth", records=rows)
        names = sorted({name for row in rows for name in (*row[8], *row[9])})
        await conn.execute(FOOD_TERMS_SQL, names)
        await conn.execute(
            """INSERT INTO recipes (slug, title, description, cuisine, course, keywords,
                   total_time_min, diets, foods, food_closure, source, fingerprint)
               SELECT slug, title, description, cuisine, course, keywords, total_time_min, diets,
                   foods, food_closure, 'synthetic', fingerprint
               FROM synth
               ON CONFLICT DO NOTHING"""
        )
        search_row = SEARCH_ROW_SQL.format(ingredients="s.food_text", description="s.desc_text")
        await conn.execute(
            f"""WITH search AS (
                   INSERT INTO recipe_search ({SEARCH_COLUMNS_SQL})
                   SELECT {search_row}
                   FROM synth s JOIN recipes r ON r.fingerprint = s.fingerprint
                   ORDER BY r.id
                   ON CONFLICT DO NOTHING
                   RETURNING recipe_id, food_ids, food_count
               )
               INSERT INTO recipe_foods (recipe_id, food_ids, food_count)
               SELECT recipe_id, food_ids, food_count FROM search ORDER BY recipe_id
               ON CONFLICT DO NOTHING"""
        )
        words = sorted({w for row in rows for w in normalise_text(row[1]).split()})
        await conn.execute(
            "INSERT INTO search_words SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
            [w for w in words if w.isalpha() and len(w) > 2],
        )
    await conn.execute("SET statement_timeout = 0")
    for table in ("recipes", "recipe_search", "recipe_foods", "food_terms"):
        await conn.execute(f"VACUUM ANALYZE {table}")
    count: int = await conn.fetchval("SELECT count(*) FROM recipes")
    return count
