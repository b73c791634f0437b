"""Recipes from schema.org `Recipe` JSON-LD: validation, analysis and the bundled catalogue."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from typing import Any, Literal

import isodate
import orjson

from ._foods import STAPLES, Diet, FoodVocabulary, derive_diets, normalise_text
from ._ingredients import parse_ingredient

CataloguePart = Literal["starter", "feed"]

_SCHEMA_DIETS = {
    "veganDiet": Diet.VEGAN,
    "vegetarianDiet": Diet.VEGETARIAN,
    "glutenFreeDiet": Diet.GLUTEN_FREE,
}
_WORD = re.compile(r"[a-z][a-z0-9]{2,}")


class RecipeError(ValueError):
    """A recipe document that cannot be stored, with the reason."""


@dataclass(frozen=True, slots=True)
class AnalysedLine:
    raw: str
    quantity: float | None
    quantity_max: float | None
    unit: str | None
    name: str | None
    food: str | None
    preparation: str | None
    comment: str | None


@dataclass(slots=True)
class AnalysedRecipe:
    """Everything the store needs about one recipe, derived once from its document."""

    slug: str
    title: str
    description: str
    cuisine: str | None
    course: str | None
    keywords: list[str]
    prep_time_min: int | None
    cook_time_min: int | None
    total_time_min: int | None
    recipe_yield: str | None
    steps: list[str]
    lines: list[AnalysedLine]
    diets: list[str]
    diets_stated: bool
    foods: list[str]
    food_closure: list[str]
    source: str
    canonical_url: str | None
    image_url: str | None
    fingerprint: str
    search_words: list[str] = field(default_factory=list)

    @property
    def ingredient_text(self) -> str:
        names = [line.name or "" for line in self.lines]
        return " ".join([*self.foods, *names])

    @property
    def description_text(self) -> str:
        return " ".join([self.description, self.cuisine or "", self.course or "", *self.keywords])


def _text(value: Any) -> str:
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, Mapping):
        return _text(value.get("text") or value.get("name") or "")
    if isinstance(value, Sequence) and value:
        return _text(value[0])
    return ""


def _minutes(value: Any) -> int | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        duration = isodate.parse_duration(value.strip())
    except (isodate.ISO8601Error, ValueError):
        return None
    if not isinstance(duration, timedelta):  # years or months: not a cooking time
        return None
    minutes = round(duration.total_seconds() / 60)
    return minutes if 0 <= minutes <= 60 * 24 * 14 else None


def _steps(value: Any) -> list[str]:
    out: list[str] = []
    if isinstance(value, str):
        return [s.strip() for s in value.split("\n") if s.strip()]
    if isinstance(value, Sequence):
        for item in value:
            if isinstance(item, Mapping) and item.get("@type") == "HowToSection":
                out.extend(_steps(item.get("itemListElement")))
            else:
                text = _text(item)
                if text:
                    out.append(text)
    return out


def _keywords(value: Any) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, Sequence):
        return []
    return [k for k in (_text(i).lower() for i in items) if k][:30]


def _stated_diets(value: Any) -> set[Diet]:
    items = [value] if isinstance(value, str) else value if isinstance(value, Sequence) else []
    stated: set[Diet] = set()
    for item in items:
        key = _text(item).rsplit("/", 1)[-1]
        diet = _SCHEMA_DIETS.get(key)
        if diet is not None:
            stated.add(diet)
    if Diet.VEGAN in stated:
        stated.add(Diet.VEGETARIAN)
    return stated


def slugify(text: str) -> str:
    return "-".join(normalise_text(text).split())[:80] or "recipe"


def fingerprint(title: str, foods: Sequence[str]) -> str:
    """Same dish from two sources, same fingerprint: normalised title and the set of foods."""
    material = normalise_text(title) + "|" + ",".join(sorted(set(foods)))
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def analyse_recipe(
    doc: Mapping[str, Any],
    *,
    source: str,
    vocab: FoodVocabulary,
    canonical_url: str | None = None,
) -> AnalysedRecipe:
    """Parse and normalise one schema.org Recipe. Raises `RecipeError` when it is unusable."""
    if not isinstance(doc, Mapping):
        raise RecipeError("a recipe is a JSON object")
    kind = doc.get("@type")
    if kind != "Recipe" and not (isinstance(kind, list) and "Recipe" in kind):
        raise RecipeError("not a schema.org Recipe")
    title = _text(doc.get("name"))[:200]
    if not title:
        raise RecipeError("the recipe has no name")
    raw_lines = doc.get("recipeIngredient") or doc.get("ingredients") or []
    if not isinstance(raw_lines, list) or not raw_lines:
        raise RecipeError("the recipe has no ingredient lines")
    lines: list[AnalysedLine] = []
    for raw in raw_lines[:100]:
        text = _text(raw)
        if not text:
            continue
        parsed = parse_ingredient(text)
        food = vocab.canonical(parsed.name) if parsed.name else None
        if food is None:
            food = vocab.canonical(text)
        lines.append(
            AnalysedLine(
                raw=text,
                quantity=parsed.quantity,
                quantity_max=parsed.quantity_max,
                unit=parsed.unit,
                name=parsed.name,
                food=food,
                preparation=parsed.preparation,
                comment=parsed.comment,
            )
        )
    if not lines:
        raise RecipeError("the recipe has no ingredient lines")

    # The foods a cook needs: each line's food, and any other food its name names
    # ("soured cream and chopped dill"); unknown ones keep their normalised name.
    needed: set[str] = set()
    for line in lines:
        named = vocab.foods_in(line.name) if line.name else []
        main = line.food or (normalise_text(line.name) if line.name else None)
        needed.update(f for f in (main, *named) if f)
    foods = sorted(needed - STAPLES)
    # What the recipe may contain, read strictly: every food the whole line mentions, asides
    # and alternatives included ("chicken or vegetable stock", "oil (or butter)").
    contained: list[str | None] = []
    for line in lines:
        contained.append(line.food)
        contained.extend(vocab.foods_in(line.raw))
    closure: set[str] = set()
    for food in {*foods, *(f for f in contained if f)}:
        closure |= vocab.closure(food) if food in vocab else {food}
    # A stated diet fills in what unknown foods keep us from deriving, but never overrides
    # what the known foods contradict (a "vegan" recipe with honey is not vegan here).
    stated = _stated_diets(doc.get("suitableForDiet"))
    known = [f for f in contained if f and f in vocab]
    diets = set(derive_diets(contained, vocab))
    diets |= stated & derive_diets(known, vocab)

    prep, cook = _minutes(doc.get("prepTime")), _minutes(doc.get("cookTime"))
    total = _minutes(doc.get("totalTime"))
    if total is None and (prep is not None or cook is not None):
        total = (prep or 0) + (cook or 0)
    cuisine = _text(doc.get("recipeCuisine")) or None
    course = _text(doc.get("recipeCategory")) or None
    keywords = _keywords(doc.get("keywords"))
    slug = slugify(_text(doc.get("identifier")) or title)
    words = set(_WORD.findall(normalise_text(" ".join([title, cuisine or "", *foods, *keywords]))))
    for line in lines:
        if line.name:
            words.update(_WORD.findall(normalise_text(line.name)))
    image = doc.get("image")
    return AnalysedRecipe(
        slug=slug,
        title=title,
        description=_text(doc.get("description"))[:2000],
        cuisine=cuisine,
        course=course,
        keywords=keywords,
        prep_time_min=prep,
        cook_time_min=cook,
        total_time_min=total,
        recipe_yield=_text(doc.get("recipeYield")) or None,
        steps=_steps(doc.get("recipeInstructions"))[:60],
        lines=lines,
        diets=sorted(d.value for d in diets),
        diets_stated=bool(stated),
        foods=foods,
        food_closure=sorted(closure),
        source=source,
        canonical_url=canonical_url,
        image_url=_text(image) or None,
        fingerprint=fingerprint(title, foods),
        search_words=sorted(words),
    )


def catalogue_documents(part: CataloguePart) -> Iterator[dict[str, Any]]:
    """The recipe documents of one part of the bundled catalogue, in a stable order."""
    folder = resources.files("pantry_common") / "catalogue" / part
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            docs = orjson.loads(entry.read_bytes())
            yield from docs
