"""Filters said in words: diets, foods to leave out and time limits read out of the free text.

"quick vegetarian pasta without mushrooms" is the text "pasta" with the diet vegetarian, the
food mushroom excluded and a time limit of 30 minutes. The words read as filters leave the text,
and the filters join those given as parameters, so the normalised query shows how the text was
read (and one search typed either way has one key).

Only what is unambiguous is read: "no" or "without" followed by a food the vocabulary names
("no bake cheesecake" keeps its words: "bake" is no food), a diet's own name, "<food> free",
"quick", and a number of minutes or hours after "under", "in", "within", "less than" or before
"minute(s)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._foods import Diet, FoodVocabulary

__all__ = ["QUICK_MINUTES", "TextFilters", "read_filters"]

# "quick": what recipe sites file under quick meals (30 minutes or less).
QUICK_MINUTES = 30

_DIET_WORDS: dict[tuple[str, ...], Diet] = {
    ("vegetarian",): Diet.VEGETARIAN,
    ("vegan",): Diet.VEGAN,
    ("gluten", "free"): Diet.GLUTEN_FREE,
    ("glutenfree",): Diet.GLUTEN_FREE,
    ("dairy", "free"): Diet.DAIRY_FREE,
    ("nut", "free"): Diet.NUT_FREE,
    ("nuts", "free"): Diet.NUT_FREE,
}
_NEGATIONS = frozenset({"without", "no"})
_JOINERS = frozenset({"or", "and", "nor", "no", "without"})
_TIME_BEFORE = {("under",), ("in",), ("within",), ("less", "than"), ("max",), ("at", "most")}
_MINUTES = {"minute": 1, "minutes": 1, "min": 1, "mins": 1, "m": 1}
_HOURS = {"hour": 60, "hours": 60, "hr": 60, "hrs": 60, "h": 60}
_NUMBER = re.compile(r"\d{1,4}")
_WORD_NUMBERS = {"an": 1, "a": 1, "one": 1, "two": 2}


@dataclass(frozen=True, slots=True)
class TextFilters:
    """What the text says: the words left to search for and the filters it names."""

    text: str
    diets: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    max_time: int | None = None


def _food_at(tokens: list[str], i: int, vocab: FoodVocabulary) -> tuple[int, str] | None:
    """The longest food name starting at tokens[i]: (its end, the canonical food)."""
    for end in range(min(len(tokens), i + 4), i, -1):
        name = vocab.exactly(" ".join(tokens[i:end]))
        if name is not None:
            return end, name
    return None


def _duration(tokens: list[str], i: int) -> tuple[int, int] | None:
    """(end, minutes) of "30 minutes", "1 hour", "an hour", "half an hour" at tokens[i]."""
    if tokens[i : i + 3] == ["half", "an", "hour"]:
        return i + 3, 30
    if i + 1 >= len(tokens):
        return None
    word, unit = tokens[i], tokens[i + 1]
    if _NUMBER.fullmatch(word):
        amount = int(word)
    elif word in _WORD_NUMBERS:
        amount = _WORD_NUMBERS[word]
    else:
        return None
    if unit in _MINUTES:
        return i + 2, amount
    if unit in _HOURS:
        return i + 2, amount * 60
    return None


def read_filters(text: str, vocab: FoodVocabulary) -> TextFilters:
    """Read the filters out of normalised text (see the module's doc for what is read)."""
    tokens = text.split()
    kept: list[str] = []
    diets: set[str] = set()
    exclude: set[str] = set()
    times: list[int] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        diet = next(
            (
                (len(words), d)
                for words, d in _DIET_WORDS.items()
                if tuple(tokens[i : i + len(words)]) == words
            ),
            None,
        )
        if diet is not None:
            size, named = diet
            diets.add(named.value)
            i += size
            continue
        if token in _NEGATIONS:
            found = _food_at(tokens, i + 1, vocab)
            if found is not None:
                end, food = found
                exclude.add(food)
                # "without nuts or dairy", "no meat, no fish": the foods that follow.
                while end < len(tokens) and tokens[end] in _JOINERS:
                    after = end + 1
                    while after < len(tokens) and tokens[after] in _NEGATIONS:
                        after += 1  # "and no dairy"
                    more = _food_at(tokens, after, vocab)
                    if more is None:
                        break
                    end, food = more
                    exclude.add(food)
                i = end
                continue
        # "quick bread" is bread without yeast, not a time limit
        if token == "quick" and tokens[i + 1 : i + 2] not in (["bread"], ["breads"]):
            times.append(QUICK_MINUTES)
            i += 1
            continue
        before = next(
            (len(w) for w in _TIME_BEFORE if tuple(tokens[i : i + len(w)]) == w),
            None,
        )
        if before is not None:
            span = _duration(tokens, i + before)
            if span is not None:
                end, minutes = span
                times.append(minutes)
                i = end
                continue
        span = _duration(tokens, i)
        if span is not None and _NUMBER.fullmatch(token):
            end, minutes = span
            # "30 minutes or less", "30 minute meals"
            if tokens[end : end + 2] in (["or", "less"], ["max"]):
                end += 2 if tokens[end] == "or" else 1
            times.append(minutes)
            i = end
            continue
        food_free = _free_food(tokens, i, vocab)
        if food_free is not None:
            end, food = food_free
            exclude.add(food)
            i = end
            continue
        kept.append(token)
        i += 1
    return TextFilters(
        text=" ".join(kept),
        diets=frozenset(diets),
        exclude=frozenset(exclude),
        max_time=min(times) if times else None,
    )


def _free_food(tokens: list[str], i: int, vocab: FoodVocabulary) -> tuple[int, str] | None:
    """ "egg free", "sugar free": a food then "free" (the diets' own names are read first)."""
    found = _food_at(tokens, i, vocab)
    if found is None:
        return None
    end, food = found
    if end < len(tokens) and tokens[end] == "free":
        return end + 1, food
    return None
