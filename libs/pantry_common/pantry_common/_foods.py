"""The food vocabulary: canonical foods, their aliases, taxonomy and ingredients; diet tagging.

The data lives in ``data/foods.toml`` (see the comments at its top for the format and the
decisions it encodes). Two relations between foods:

* ``is_a``: a kind of. "chicken thigh" is_a "chicken" is_a "poultry" is_a "meat". Used for the
  foods a user *has*: having cheddar covers a recipe that asks for cheese (`FoodVocabulary.kinds`).
  A kind marked ``interchangeable`` is also covered by its parent: having chicken covers a recipe
  that asks for chicken thighs, having cheese does not cover parmesan (`FoodVocabulary.covers`).
* ``made_from``: an ingredient of. "peanut butter" made_from "peanut". Used, together with
  ``is_a``, for what a food *contains* (`FoodVocabulary.closure`): excluding peanut removes peanut
  butter; excluding dairy removes butter; excluding gluten removes pasta.

A food inherits what its ancestors contain (the closure follows both relations transitively), so a
generic food that recipes name on its own ("flour", "noodle", "stock", "sausage") carries the
conservative reading, and a variant that differs ("rice flour", "rice noodle", "vegetable stock")
is a sibling of it, not a kind of it.
"""

from __future__ import annotations

import functools
import threading
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any, ClassVar

__all__ = [
    "STAPLES",
    "Diet",
    "Food",
    "FoodVocabulary",
    "derive_diets",
    "normalise_text",
]


class Diet(StrEnum):
    VEGETARIAN = "vegetarian"
    VEGAN = "vegan"
    GLUTEN_FREE = "gluten-free"
    DAIRY_FREE = "dairy-free"
    NUT_FREE = "nut-free"


# Foods assumed to be in every pantry: never counted as missing from what a user has. Kept to the
# three that every recipe site treats as free (water, salt, black pepper); oil, sugar, flour and
# butter are common but are real constraints (vegan, gluten-free, "I'm out of butter").
STAPLES: frozenset[str] = frozenset({"water", "salt", "black pepper"})

# Category nodes of data/foods.toml that the diets test for, in a food's closure.
_NOT_VEGETARIAN = frozenset({"meat", "poultry", "fish", "shellfish", "seafood", "gelatin"})
_NOT_VEGAN = _NOT_VEGETARIAN | {"animal product", "dairy", "egg", "honey"}
_NOT_GLUTEN_FREE = frozenset({"gluten grain"})
_NOT_DAIRY_FREE = frozenset({"dairy"})
_NOT_NUT_FREE = frozenset({"nut", "tree nut", "peanut"})
_DIET_BLOCKERS: tuple[tuple[Diet, frozenset[str]], ...] = (
    (Diet.VEGETARIAN, _NOT_VEGETARIAN),
    (Diet.VEGAN, _NOT_VEGAN),
    (Diet.GLUTEN_FREE, _NOT_GLUTEN_FREE),
    (Diet.DAIRY_FREE, _NOT_DAIRY_FREE),
    (Diet.NUT_FREE, _NOT_NUT_FREE),
)

# --------------------------------------------------------------------------- text

_APOSTROPHES = frozenset("'\u2018\u2019\u02bc\u0060\u00b4")
_FOLD = {"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}


# ASCII text (most of it) in one pass: letters lower-cased, apostrophes dropped, the rest spaced.
_ASCII = {i: (None if chr(i) in _APOSTROPHES else " ") for i in range(128) if not chr(i).isalnum()}


@functools.lru_cache(maxsize=65_536)
def normalise_text(text: str) -> str:
    """Lower-case, accents stripped (NFKD), punctuation to spaces, spaces collapsed.

    Apostrophes are dropped rather than spaced ("confectioners' sugar" -> "confectioners sugar",
    "baker's" -> "bakers"). ``normalise_text("Crème Brûlée!") == "creme brulee"``. The texts
    recipes and users repeat are kept normalised.
    """
    if text.isascii():
        return " ".join(text.lower().translate(_ASCII).split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    chars: list[str] = []
    for ch in decomposed:
        if unicodedata.combining(ch) or ch in _APOSTROPHES:
            continue
        if ch.isalnum():
            chars.append(_FOLD.get(ch, ch))
        else:
            chars.append(" ")
    return " ".join("".join(chars).split())


def normalise_once(text: str) -> str:
    """`normalise_text` without its cache, for a text seldom seen twice (a user's query text):
    cached, every distinct search would hold an entry and push out the texts that repeat."""
    result: str = normalise_text.__wrapped__(text)
    return result


# Plurals of a last word that the simple rules get wrong (a tuple of every accepted form).
_IRREGULAR_PLURALS: dict[str, tuple[str, ...]] = {
    "leaf": ("leaves", "leafs"),
    "loaf": ("loaves",),
    "half": ("halves",),
    "calf": ("calves",),
    "knife": ("knives",),
    "goose": ("geese",),
    "fish": ("fishes",),
    "chili": ("chilis", "chilies", "chiles"),
    "chilli": ("chillis", "chillies"),
    "chile": ("chiles", "chilies"),
    "potato": ("potatoes",),
    "tomato": ("tomatoes",),
    "mango": ("mangoes", "mangos"),
    "tomatillo": ("tomatillos",),
    "jalapeno": ("jalapenos",),
    "mouse": ("mice",),
    "cactus": ("cacti", "cactuses"),
    "asparagus": (),
    "couscous": (),
    "hummus": (),
    "molasses": (),
    "swiss": (),
}
_VOWELS = frozenset("aeiou")


def plural_forms(word: str) -> tuple[str, ...]:
    """English plural spellings of one word ("berry" -> "berries"; "leaf" -> "leaves", "leafs")."""
    if word in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[word]
    if not word.isalpha() or len(word) < 2:
        return ()
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return (word + "es",)
    if word.endswith("y") and word[-2] not in _VOWELS:
        return (word[:-1] + "ies",)
    if word.endswith("o"):
        return (word + "s", word + "es")
    if word.endswith("fe"):
        return (word + "s", word[:-2] + "ves")
    if word.endswith("f"):
        return (word + "s", word[:-1] + "ves")
    return (word + "s",)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Food:
    """One canonical food as written in data/foods.toml."""

    name: str
    aliases: tuple[str, ...] = ()
    is_a: tuple[str, ...] = ()
    made_from: tuple[str, ...] = ()
    note: str = ""
    # Its is_a parents stand for it: a cook who has the parent has this (the same purchase).
    interchangeable: bool = False


def _str_tuple(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"{where}: expected a string or a list of strings")


def parse_foods(data: Mapping[str, Any]) -> list[Food]:
    """The foods of a parsed foods.toml document (its ``[foods.*]`` tables, in file order)."""
    groups = data.get("foods")
    if not isinstance(groups, Mapping):
        raise ValueError("foods.toml: missing the [foods] table")
    out: list[Food] = []
    for group, table in groups.items():
        if not isinstance(table, Mapping):
            raise ValueError(f"foods.{group}: expected a table of foods")
        for name, spec in table.items():
            where = f"foods.{group}.{name!r}"
            if not isinstance(spec, Mapping):
                raise ValueError(f"{where}: expected an inline table")
            unknown = set(spec) - {"aliases", "is_a", "made_from", "note", "interchangeable"}
            if unknown:
                raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
            note = spec.get("note", "")
            if not isinstance(note, str):
                raise ValueError(f"{where}: note must be a string")
            interchangeable = spec.get("interchangeable", False)
            if not isinstance(interchangeable, bool):
                raise ValueError(f"{where}: interchangeable must be true or false")
            if interchangeable and not spec.get("is_a"):
                raise ValueError(f"{where}: interchangeable needs an is_a parent to stand for it")
            out.append(
                Food(
                    name=name,
                    aliases=_str_tuple(spec.get("aliases"), where),
                    is_a=_str_tuple(spec.get("is_a"), where),
                    made_from=_str_tuple(spec.get("made_from"), where),
                    note=note,
                    interchangeable=interchangeable,
                )
            )
    return out


# --------------------------------------------------------------------------- vocabulary


class FoodVocabulary:
    """Canonical foods with aliases, ``is_a`` parents and ``made_from`` sources."""

    _default: ClassVar[FoodVocabulary | None] = None
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, foods: Iterable[Food]) -> None:
        self._foods: dict[str, Food] = {}
        for food in foods:
            if food.name in self._foods:
                raise ValueError(f"food {food.name!r} is defined twice")
            if not food.name or food.name != food.name.strip().lower():
                raise ValueError(f"food name {food.name!r} must be lower-case and trimmed")
            self._foods[food.name] = food
        missing = sorted(
            f"{food.name!r} -> {ref!r}"
            for food in self._foods.values()
            for ref in (*food.is_a, *food.made_from)
            if ref not in self._foods
        )
        if missing:
            raise ValueError("references to undefined foods: " + ", ".join(missing))

        self._aliases: dict[str, str] = {}
        self._explicit: dict[str, str] = {}
        for food in self._foods.values():
            for alias in (food.name, *food.aliases):
                key = normalise_text(alias)
                if not key:
                    raise ValueError(f"food {food.name!r} has an empty alias {alias!r}")
                owner = self._explicit.setdefault(key, food.name)
                if owner != food.name:
                    raise ValueError(f"alias {key!r} is given to both {owner!r} and {food.name!r}")
        self._aliases.update(self._explicit)
        for key, name in self._explicit.items():  # generated plurals never override a stated alias
            head, _, last = key.rpartition(" ")
            for plural in plural_forms(last):
                self._aliases.setdefault(f"{head} {plural}" if head else plural, name)
        self._max_words = max((k.count(" ") + 1 for k in self._aliases), default=0)

        self._kinds: dict[str, frozenset[str]] = {}
        self._closure: dict[str, frozenset[str]] = {}
        for name in self._foods:
            self._kinds[name] = self._walk(name, self._kinds, ("is_a",), ())
            self._closure[name] = self._walk(name, self._closure, ("is_a", "made_from"), ())
        # parent -> the interchangeable kinds it stands for (directly)
        stand_ins: dict[str, set[str]] = {}
        for food in self._foods.values():
            if food.interchangeable:
                for parent in food.is_a:
                    stand_ins.setdefault(parent, set()).add(food.name)
        self._covers: dict[str, frozenset[str]] = {}
        for name in self._foods:
            out, todo = set(self._kinds[name]), [name]
            while todo:
                for kind in stand_ins.get(todo.pop(), ()):
                    if kind not in out:
                        out.add(kind)
                        todo.append(kind)
            self._covers[name] = frozenset(out)
        self._stands_for: dict[str, tuple[str, ...]] = {
            name: tuple(sorted(covered - self._kinds[name]))
            for name, covered in self._covers.items()
            if covered - self._kinds[name]
        }

    def _walk(
        self,
        name: str,
        memo: dict[str, frozenset[str]],
        relations: tuple[str, ...],
        path: tuple[str, ...],
    ) -> frozenset[str]:
        if name in memo:
            return memo[name]
        if name in path:
            raise ValueError("cycle in the food graph: " + " -> ".join((*path, name)))
        food = self._foods[name]
        out = {name}
        for relation in relations:
            refs: tuple[str, ...] = getattr(food, relation)
            for ref in refs:
                out |= self._walk(ref, memo, relations, (*path, name))
        result = frozenset(out)
        memo[name] = result
        return result

    # ----------------------------------------------------------------- construction

    @classmethod
    def from_toml(cls, text: str) -> FoodVocabulary:
        return cls(parse_foods(tomllib.loads(text)))

    @classmethod
    def default(cls) -> FoodVocabulary:
        """The bundled vocabulary (``data/foods.toml``), loaded once per process."""
        if cls._default is None:
            with cls._default_lock:
                if cls._default is None:
                    path = resources.files("pantry_common") / "data" / "foods.toml"
                    cls._default = cls.from_toml(path.read_text(encoding="utf-8"))
        return cls._default

    # ----------------------------------------------------------------- look-ups

    def _resolve(self, food: str) -> str | None:
        if food in self._foods:
            return food
        return self._aliases.get(normalise_text(food))

    def __contains__(self, food: object) -> bool:
        """A canonical name, or a whole phrase that is exactly one of its aliases."""
        return isinstance(food, str) and self._resolve(food) is not None

    def exactly(self, normalised: str) -> str | None:
        """The food whose name or alias a normalised phrase (`normalise_text`'s output) is.

        For callers that hold normalised words already (a query's n-grams): no second
        normalisation, and no entry in its cache for every n-gram of every query."""
        return self._aliases.get(normalised)

    def __len__(self) -> int:
        return len(self._foods)

    def names(self) -> list[str]:
        """All canonical names, sorted."""
        return sorted(self._foods)

    def aliases(self) -> dict[str, str]:
        """Normalised alias -> canonical name (canonical names and generated plurals included)."""
        return dict(self._aliases)

    def food(self, food: str) -> Food | None:
        """The entry of a canonical name or exact alias."""
        name = self._resolve(food)
        return self._foods[name] if name is not None else None

    def parents(self, food: str) -> frozenset[str]:
        """The direct ``is_a`` parents (empty for an unknown food)."""
        entry = self.food(food)
        return frozenset(entry.is_a) if entry else frozenset()

    def made_from(self, food: str) -> frozenset[str]:
        """The direct ``made_from`` sources (empty for an unknown food)."""
        entry = self.food(food)
        return frozenset(entry.made_from) if entry else frozenset()

    def kinds(self, food: str) -> frozenset[str]:
        """The food and all its ``is_a`` ancestors. An unknown food is only itself."""
        name = self._resolve(food)
        return self._kinds[name] if name is not None else frozenset({food})

    def covers(self, food: str) -> frozenset[str]:
        """Every food a user who has `food` has for a recipe: its kinds (having cheddar covers
        "cheese") and, transitively, the interchangeable kinds it stands for (having chicken
        covers "chicken thigh"; having cheese does not cover "parmesan"). Unknown: only itself.
        """
        name = self._resolve(food)
        return self._covers[name] if name is not None else frozenset({food})

    def stands_for(self, food: str) -> tuple[str, ...]:
        """The interchangeable kinds a food stands for, sorted (chicken: its thighs, breasts...)."""
        name = self._resolve(food)
        return self._stands_for.get(name, ()) if name is not None else ()

    def interchangeable(self) -> dict[str, list[str]]:
        """Each food that stands for kinds of it -> those kinds, sorted (what the data marks)."""
        return {name: list(kinds) for name, kinds in self._stands_for.items()}

    def closure(self, food: str) -> frozenset[str]:
        """The food, its ``is_a`` ancestors and, transitively, everything it is made from.

        Everything an "exclude" of any of these names must remove. An unknown food is only itself.
        """
        name = self._resolve(food)
        return self._closure[name] if name is not None else frozenset({food})

    # ----------------------------------------------------------------- phrases

    def _best_span(self, tokens: list[str]) -> tuple[int, int, str] | None:
        """(start, end, food) of the longest alias n-gram; rightmost on a tie (the head noun)."""
        for size in range(min(self._max_words, len(tokens)), 0, -1):
            for start in range(len(tokens) - size, -1, -1):
                name = self._aliases.get(" ".join(tokens[start : start + size]))
                if name is not None:
                    return start, start + size, name
        return None

    def canonical(self, phrase: str | None) -> str | None:
        """The canonical food a phrase names, or None.

        Case, accents and punctuation are ignored; descriptors fall away because the longest alias
        n-gram in the phrase wins ("boneless skinless chicken thighs" -> "chicken thigh"), the
        rightmost on a tie. A trailing ", comment" and "(aside)" are tried without first.
        """
        if not phrase:
            return None
        for candidate in (_head(phrase), phrase):
            tokens = normalise_text(candidate).split()
            if tokens:
                found = self._best_span(tokens)
                if found is not None:
                    return found[2]
        return None

    def foods_in(self, phrase: str | None) -> list[str]:
        """Every food named in a phrase, left to right, by non-overlapping longest matches.

        "Shredded cheddar and sliced green onions" -> ["cheddar", "green onion"]: for callers that
        must not miss a second food on one line (diet checks).
        """
        if not phrase:
            return []
        tokens = normalise_text(phrase).split()
        found: list[tuple[int, str]] = []
        spans = [(0, len(tokens))]
        while spans:
            lo, hi = spans.pop()
            best = self._best_span(tokens[lo:hi])
            if best is None:
                continue
            start, end, name = best
            found.append((lo + start, name))
            spans.extend([(lo, lo + start), (lo + end, hi)])
        out: list[str] = []
        for _, name in sorted(found):
            if name not in out:
                out.append(name)
        return out


def _head(phrase: str) -> str:
    """The phrase before its first comma, without parenthesised asides."""
    text = phrase.split(",", 1)[0]
    out: list[str] = []
    depth = 0
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


# --------------------------------------------------------------------------- diets


def derive_diets(foods: Iterable[str | None], vocab: FoodVocabulary) -> frozenset[Diet]:
    """The diets a recipe qualifies for, from the foods of its ingredient lines.

    Conservative: any unknown food (None, or a name the vocabulary lacks) means nothing is claimed.
    Vegetarian: no meat, poultry, fish, shellfish or gelatin in any food's closure. Vegan: no
    animal product at all (dairy, egg, honey, ...). Gluten-free: no gluten grain (wheat, barley,
    rye, spelt, and oats not stated gluten-free). Dairy-free: no dairy. Nut-free: no tree nut and
    no peanut (coconut, nutmeg and seeds are not nuts here).
    """
    contained: set[str] = set()
    for food in foods:
        if food is None or food not in vocab:
            return frozenset()
        contained |= vocab.closure(food)
    return frozenset(diet for diet, blockers in _DIET_BLOCKERS if not contained & blockers)
