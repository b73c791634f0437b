"""How much of what cooks write the food vocabulary can name, and the parser's food-name accuracy.

    python -m bench.vocabulary [--top 40]

Over every ingredient line of the bundled catalogue (starter and feed) and the labelled
reference rows (../shared/data/ingredients, or PANTRY_REFERENCE_DATA): the share of lines whose
food the vocabulary cannot name, read as recipe analysis reads a line (the parsed name, else the
whole line), with the most frequent unnamed foods; and, on the reference rows, how often the
parsed name equals the label (lower-cased, spaces collapsed). Writes bench/out/vocabulary.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pantry_common import FoodVocabulary, catalogue_documents, parse_ingredient
from pantry_common._ingredients import is_held_out, normalise_name

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).parent / "out"
REFERENCE = ("tastecooking-2024.csv", "cookstr-2017.csv")
PARTS: tuple[Literal["starter", "feed"], ...] = ("starter", "feed")


def _food(line: str, vocab: FoodVocabulary) -> tuple[str | None, str | None]:
    """(parsed name, canonical food) as recipe analysis reads the line."""
    name = parse_ingredient(line).name
    food = vocab.canonical(name) if name else None
    return name, food or vocab.canonical(line)


def measure(lines: list[tuple[str, str | None]], vocab: FoodVocabulary) -> dict[str, Any]:
    unknown: Counter[str] = Counter()
    named = correct = held = held_correct = 0
    for line, label in lines:
        name, food = _food(line, vocab)
        if food is None:
            unknown[normalise_name(name or line)] += 1
        if label is not None:
            right = normalise_name(name) == normalise_name(label)
            named += 1
            correct += right
            if is_held_out(line):  # rows the parser's model was not trained on
                held += 1
                held_correct += right
    out: dict[str, Any] = {
        "lines": len(lines),
        "unknown": sum(unknown.values()),
        "unknown_share": round(sum(unknown.values()) / max(len(lines), 1), 4),
        "top_unknown": unknown.most_common(60),
    }
    if named:
        out["name_accuracy"] = round(correct / named, 4)
        out["name_accuracy_held_out"] = round(held_correct / max(held, 1), 4)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    vocab = FoodVocabulary.default()
    base = Path(os.environ.get("PANTRY_REFERENCE_DATA") or ROOT.parent / "shared" / "data")
    sets: dict[str, list[tuple[str, str | None]]] = {
        "catalogue": [
            (str(line), None)
            for part in PARTS
            for doc in catalogue_documents(part)
            for line in doc.get("recipeIngredient", [])
        ]
    }
    for name in REFERENCE:
        with (base / "ingredients" / name).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        sets[name] = [(r["input"], r["name"]) for r in rows if r["name"]]
        unlabelled: list[tuple[str, str | None]] = [
            (r["input"], None) for r in rows if not r["name"] and r["input"].strip()
        ]
        if unlabelled:
            sets[f"{name} (unlabelled)"] = unlabelled
    results = {name: measure(lines, vocab) for name, lines in sets.items()}
    for name, r in results.items():
        accuracy = (
            f", parser name accuracy {r['name_accuracy']:.1%}"
            f" ({r['name_accuracy_held_out']:.1%} held out)"
            if "name_accuracy" in r
            else ""
        )
        print(
            f"{name:34} {r['lines']:6} lines, food not named: {r['unknown']:5}"
            f" ({r['unknown_share']:.1%}){accuracy}"
        )
        top = ", ".join(f"{food} ({n})" for food, n in r["top_unknown"][: args.top])
        print(f"  most frequent unnamed: {top}")
    OUT.mkdir(exist_ok=True)
    (OUT / "vocabulary.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
