"""Recipe analysis on one core (parse every line, name its food, derive diets), and where the
time goes: the part of the engine's work before SQL.

    python -m bench.analysis [--runs 3]

Over the bundled catalogue (starter and feed): recipes per second with every line new to the
process (cold: the parser's and the text normaliser's kept results cleared) and with lines seen
before (warm, as in a catalogue where lines repeat), each the median of --runs runs with its
spread; then a profile of one cold pass, grouped into parsing, vocabulary and the rest.
Writes bench/out/analysis.json.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path
from typing import Any

from bench.spread import line, spread
from pantry_common import FoodVocabulary, analyse_recipe, catalogue_documents, parse_ingredient
from pantry_common._foods import normalise_text
from pantry_common._ingredients import _parse_kept

OUT = Path(__file__).parent / "out"


def _clear() -> None:
    _parse_kept.cache_clear()
    normalise_text.cache_clear()


def _pass(docs: list[dict[str, Any]], vocab: FoodVocabulary) -> float:
    started = time.perf_counter()
    for doc in docs:
        analyse_recipe(doc, source="catalogue", vocab=vocab)
    return len(docs) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    vocab = FoodVocabulary.default()
    docs = [doc for part in ("starter", "feed") for doc in catalogue_documents(part)]
    parse_ingredient("1 cup flour")  # load the model
    cold, warm = [], []
    for _ in range(args.runs):
        _clear()
        cold.append(_pass(docs, vocab))
        warm.append(_pass(docs, vocab))
    print(f"recipe analysis, one core, {len(docs)} recipes")
    print("  " + line("cold (every line new)", cold, "recipes/s", 0))
    print("  " + line("warm (lines seen before)", warm, "recipes/s", 0))
    _clear()
    profile = cProfile.Profile()
    profile.enable()
    _pass(docs, vocab)
    profile.disable()
    stats = pstats.Stats(profile)
    parts = {"parsing": 0.0, "vocabulary": 0.0, "other": 0.0}
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if filename.endswith("_ingredients.py"):
            parts["parsing"] += own
        elif filename.endswith("_foods.py"):
            parts["vocabulary"] += own
        else:
            parts["other"] += own
    total = sum(parts.values())
    print(
        "  where a cold pass spends its time: "
        + ", ".join(f"{name} {seconds / total:.0%}" for name, seconds in parts.items())
    )
    OUT.mkdir(exist_ok=True)
    result = {
        "recipes": len(docs),
        "cold_recipes_per_s": spread(cold),
        "warm_recipes_per_s": spread(warm),
        "cold_profile_share": {k: round(v / total, 3) for k, v in parts.items()},
    }
    (OUT / "analysis.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
