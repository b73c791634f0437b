"""Writing recipes and the food vocabulary to PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from ._changes import CatalogueChange
from ._foods import FoodVocabulary
from ._recipes import AnalysedRecipe, CataloguePart, analyse_recipe, catalogue_documents

Connection: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"

_FIND = """
SELECT id, slug FROM recipes
WHERE fingerprint = $1 OR (canonical_url IS NOT NULL AND canonical_url = $2)
ORDER BY (fingerprint = $1) DESC
LIMIT 1
FOR UPDATE
"""

_INSERT = """
INSERT INTO recipes (slug, title, description, cuisine, course, keywords, prep_time_min,
    cook_time_min, total_time_min, yield, steps, diets, diets_stated, foods, food_closure,
    source, canonical_url, fingerprint, image_url)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
ON CONFLICT (fingerprint) DO NOTHING
RETURNING id
"""

_UPDATE = """
UPDATE recipes SET title = $2, description = $3, cuisine = $4, course = $5, keywords = $6,
    prep_time_min = $7, cook_time_min = $8, total_time_min = $9, yield = $10, steps = $11,
    diets = $12, diets_stated = $13, foods = $14, food_closure = $15, source = $16,
    canonical_url = coalesce($17, canonical_url), fingerprint = $18, image_url = $19,
    updated_at = now()
WHERE id = $20 AND $1::text IS NOT NULL
"""

# Ids for the food names recipes use (`foods` and `food_closure`), in name order so that two
# writers adding the same names do not wait for each other crosswise.
FOOD_TERMS_SQL = """
INSERT INTO food_terms (name)
SELECT f FROM unnest($1::text[]) AS f
WHERE NOT EXISTS (SELECT 1 FROM food_terms t WHERE t.name = f)
ORDER BY f
ON CONFLICT (name) DO NOTHING
"""

# What searches read of a recipe `r`, given the texts of its document: the title (weight A),
# `{ingredients}` (B) and `{description}` (C). Written after the recipe row and `food_terms`.
SEARCH_COLUMNS_SQL = """recipe_id, food_count, total_time_min, title_trgm, food_ids,
    closure_ids, diets, cuisine_key, document"""

SEARCH_ROW_SQL = """r.id, cardinality(r.foods), r.total_time_min, pantry_trgm_ids(r.title_key),
    pantry_food_ids(r.foods), pantry_food_ids(r.food_closure), r.diets, r.cuisine_key,
    setweight(to_tsvector('english', pantry_unaccent(r.title)), 'A') ||
    setweight(to_tsvector('english', pantry_unaccent({ingredients})), 'B') ||
    setweight(to_tsvector('english', pantry_unaccent({description})), 'C')"""

_SEARCH = f"""
WITH search AS (
    INSERT INTO recipe_search ({SEARCH_COLUMNS_SQL})
    SELECT {SEARCH_ROW_SQL.format(ingredients="$2::text", description="$3::text")}
    FROM recipes r WHERE r.id = $1
    ON CONFLICT (recipe_id) DO UPDATE SET food_count = excluded.food_count,
        total_time_min = excluded.total_time_min, title_trgm = excluded.title_trgm,
        food_ids = excluded.food_ids, closure_ids = excluded.closure_ids,
        diets = excluded.diets, cuisine_key = excluded.cuisine_key,
        document = excluded.document, written_by = pg_current_xact_id()
    RETURNING recipe_id, food_ids, food_count
)
INSERT INTO recipe_foods (recipe_id, food_ids, food_count)
SELECT recipe_id, food_ids, food_count FROM search
ON CONFLICT (recipe_id) DO UPDATE SET food_ids = excluded.food_ids,
    food_count = excluded.food_count
"""


# What searches match a recipe by: the lexemes of its search document and its foods.
_TERMS = """
SELECT r.foods, coalesce(tsvector_to_array(s.document), '{}') AS lexemes
FROM recipes r LEFT JOIN recipe_search s ON s.recipe_id = r.id
WHERE r.id = $1
"""


@dataclass(frozen=True, slots=True)
class StoredRecipe:
    id: int
    slug: str
    created: bool
    #: What the write may change for searches: the terms before and after it.
    change: CatalogueChange


async def _terms(conn: Connection, recipe_id: int) -> CatalogueChange:
    row = await conn.fetchrow(_TERMS, recipe_id)
    if row is None:
        return CatalogueChange()
    return CatalogueChange(lexemes=sorted(row["lexemes"]), foods=sorted(row["foods"]))


def _args(recipe: AnalysedRecipe, slug: str) -> list[Any]:
    return [
        slug,
        recipe.title,
        recipe.description,
        recipe.cuisine,
        recipe.course,
        recipe.keywords,
        recipe.prep_time_min,
        recipe.cook_time_min,
        recipe.total_time_min,
        recipe.recipe_yield,
        recipe.steps,
        recipe.diets,
        recipe.diets_stated,
        recipe.foods,
        recipe.food_closure,
        recipe.source,
        recipe.canonical_url,
        recipe.fingerprint,
        recipe.image_url,
    ]


async def _free_slug(conn: Connection, slug: str, fingerprint: str) -> str:
    candidate, n = slug, 1
    while True:
        owner = await conn.fetchval("SELECT fingerprint FROM recipes WHERE slug = $1", candidate)
        if owner is None or owner == fingerprint:
            return candidate
        n += 1
        candidate = f"{slug}-{n}"


async def upsert_recipe(conn: Connection, recipe: AnalysedRecipe) -> StoredRecipe:
    """Insert or update one recipe by fingerprint or canonical URL; never makes a duplicate.

    Runs in its own transaction (or the caller's): a redelivered message or the same recipe
    from a second source updates the row it already has.
    """
    async with conn.transaction():
        await conn.execute(FOOD_TERMS_SQL, sorted({*recipe.foods, *recipe.food_closure}))
        before = CatalogueChange()
        for _ in range(3):
            found = await conn.fetchrow(_FIND, recipe.fingerprint, recipe.canonical_url)
            if found is not None:
                recipe_id, slug, created = found["id"], found["slug"], False
                before = await _terms(conn, recipe_id)
                await conn.execute(_UPDATE, *_args(recipe, slug), recipe_id)
                break
            slug = await _free_slug(conn, recipe.slug, recipe.fingerprint)
            try:
                # ON CONFLICT covers the fingerprint only: a writer of the same new recipe
                # that got there first can also hold its slug, which is an error (after
                # waiting for that writer's commit). In a savepoint, the next round finds it.
                async with conn.transaction():
                    recipe_id = await conn.fetchval(_INSERT, *_args(recipe, slug))
            except asyncpg.UniqueViolationError:
                continue
            if recipe_id is not None:
                created = True
                break
        else:  # pragma: no cover - needs three lost races in a row
            raise RuntimeError(f"could not store recipe {recipe.fingerprint}")
        await conn.execute(_SEARCH, recipe_id, recipe.ingredient_text, recipe.description_text)
        await conn.execute("DELETE FROM ingredient_lines WHERE recipe_id = $1", recipe_id)
        await conn.executemany(
            """INSERT INTO ingredient_lines (recipe_id, position, raw, quantity, quantity_max,
                   unit, name, food, preparation, comment)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
            [
                (
                    recipe_id,
                    i,
                    line.raw,
                    line.quantity,
                    line.quantity_max,
                    line.unit,
                    line.name,
                    line.food,
                    line.preparation,
                    line.comment,
                )
                for i, line in enumerate(recipe.lines)
            ],
        )
        new_words = False
        if recipe.search_words:
            # In word order, as food_terms: two writers never wait for each other crosswise.
            added = await conn.fetch(
                "INSERT INTO search_words (word) SELECT w FROM unnest($1::text[]) AS w ORDER BY w"
                " ON CONFLICT DO NOTHING RETURNING word",
                recipe.search_words,
            )
            new_words = bool(added)
        after = await _terms(conn, recipe_id)
    change = before.merge(after).merge(CatalogueChange(new_words=new_words))
    return StoredRecipe(id=recipe_id, slug=slug, created=created, change=change)


async def store_recipes(conn: Connection, recipes: list[AnalysedRecipe]) -> list[StoredRecipe]:
    """Upsert several recipes in the caller's transaction; what each became, in their order.

    Written in fingerprint order: each upsert locks its recipe's row (or the fingerprint's
    index entry) until the transaction ends, and two transactions that take the same recipes
    in different orders would each wait for the other (a deadlock, which PostgreSQL ends by
    failing one). In one order, the second waits for the first and then goes on.
    """
    order = sorted(range(len(recipes)), key=lambda i: recipes[i].fingerprint)
    stored: dict[int, StoredRecipe] = {}
    for i in order:
        stored[i] = await upsert_recipe(conn, recipes[i])
    return [stored[i] for i in range(len(recipes))]


async def sync_vocabulary(conn: Connection, vocab: FoodVocabulary) -> int:
    """Make `foods` and `food_aliases` equal to the vocabulary; returns the food count."""
    foods = [
        (name, sorted(vocab.parents(name)), sorted(vocab.made_from(name))) for name in vocab.names()
    ]
    async with conn.transaction():
        await conn.execute("LOCK TABLE foods IN SHARE ROW EXCLUSIVE MODE")
        await conn.execute(
            "DELETE FROM foods WHERE NOT (name = ANY($1::text[]))", [f[0] for f in foods]
        )
        await conn.executemany(
            """INSERT INTO foods (name, parents, made_from) VALUES ($1, $2, $3)
               ON CONFLICT (name) DO UPDATE SET parents = excluded.parents,
                   made_from = excluded.made_from""",
            foods,
        )
        aliases = sorted(vocab.aliases().items())
        await conn.execute("DELETE FROM food_aliases")
        await conn.executemany("INSERT INTO food_aliases (alias, food) VALUES ($1, $2)", aliases)
    return len(foods)


@dataclass(frozen=True, slots=True)
class Seeded:
    """What a seed did, and the change to announce for it."""

    foods: int
    recipes: int
    new: int
    updated: int
    change: CatalogueChange

    def summary(self) -> dict[str, int]:
        return {
            "foods": self.foods,
            "recipes": self.recipes,
            "new": self.new,
            "updated": self.updated,
        }


async def seed_catalogue(
    pool: asyncpg.Pool, vocab: FoodVocabulary, part: CataloguePart = "starter"
) -> Seeded:
    """Load the vocabulary and one part of the bundled catalogue. Idempotent."""
    async with pool.acquire() as conn:
        food_count = await sync_vocabulary(conn, vocab)
    recipes = [
        analyse_recipe(doc, source="catalogue", vocab=vocab) for doc in catalogue_documents(part)
    ]
    created = updated = 0
    change = CatalogueChange()
    async with pool.acquire() as conn:
        for recipe in recipes:
            stored = await upsert_recipe(conn, recipe)
            created, updated = created + stored.created, updated + (not stored.created)
            change = change.merge(stored.change)
    return Seeded(food_count, len(recipes), created, updated, change)
