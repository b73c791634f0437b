"""Train the ingredient-line CRF on the labelled reference data and report its accuracy.

    uv run python scripts/train_ingredient_model.py              # train, write the model, score it
    uv run python scripts/train_ingredient_model.py --eval-only  # score the committed model
    uv run python scripts/train_ingredient_model.py --dev --out /tmp/dev.model  # tune

Each file is split by a hash of the input line (``is_held_out``): ~80% train, ~20% held out. Only
the training rows of both files are used; the held-out rows are for scoring only. ``--dev``
carves a second slice out of the training rows, so tuning never looks at the held-out rows.
Data: ``../shared/data/ingredients`` next to the repository, or ``$PANTRY_REFERENCE_DATA``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pycrfsuite

from pantry_common import _ingredients as ing

REPO_ROOT = Path(__file__).resolve().parents[1]
FILES = ("tastecooking-2024.csv", "cookstr-2017.csv")


def data_dir() -> Path:
    """The reference ingredients folder (``PANTRY_REFERENCE_DATA`` overrides ../shared/data)."""
    base = os.environ.get("PANTRY_REFERENCE_DATA") or str(REPO_ROOT.parent / "shared" / "data")
    return Path(base) / "ingredients"


def train(rows: list[dict[str, str]], out: Path, c1: float, c2: float, iterations: int) -> int:
    """Align labels to tokens, train the CRF and write it to ``out``; return sequences used."""
    trainer = pycrfsuite.Trainer(verbose=False)
    used = 0
    for row in rows:
        aligned = ing.align_labels(row)
        if aligned is None:
            continue
        toks, joined, tags = aligned
        trainer.append(ing._features(toks, joined), tags)
        used += 1
    trainer.set_params(
        {
            "c1": c1,
            "c2": c2,
            "max_iterations": iterations,
            "feature.possible_transitions": True,
        }
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    trainer.train(str(tmp))
    tmp.replace(out)
    return used


def _is_dev(line: str) -> bool:
    return ing.is_held_out("dev:" + line)


def lines_per_second(lines: list[str]) -> float:
    """Parse speed on one core, best of three passes (after a warm-up)."""
    ing.parse_ingredient("1 cup flour")
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        for line in lines:
            ing.parse_ingredient(line)
        best = max(best, len(lines) / (time.perf_counter() - started))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ing.MODEL_PATH, help="model file")
    parser.add_argument("--c1", type=float, default=0.15, help="L1 penalty")
    parser.add_argument("--c2", type=float, default=0.05, help="L2 penalty")
    parser.add_argument("--iterations", type=int, default=300, help="L-BFGS iterations")
    parser.add_argument("--eval-only", action="store_true", help="score --out, don't train")
    parser.add_argument("--dev", action="store_true", help="tune on a slice of the training rows")
    args = parser.parse_args()

    folder = data_dir()
    if not folder.is_dir():
        print(f"reference data not found at {folder} (set PANTRY_REFERENCE_DATA)")
        return 1
    data = {name: ing.read_reference_rows(folder / name) for name in FILES}
    held_out: Callable[[str], bool] = ing.is_held_out
    split_names = ("held-out", "full file")
    if args.dev:
        data = {n: [r for r in rows if not ing.is_held_out(r["input"])] for n, rows in data.items()}
        held_out = _is_dev
        split_names = ("dev", "training rows")

    if not args.eval_only:
        train_rows = [r for rows in data.values() for r in rows if not held_out(r["input"])]
        started = time.perf_counter()
        used = train(train_rows, args.out, args.c1, args.c2, args.iterations)
        took = time.perf_counter() - started
        print(f"trained on {used}/{len(train_rows)} rows in {took:.0f}s, c1={args.c1} c2={args.c2}")
    print(f"model: {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")
    ing.MODEL_PATH = args.out
    ing._MODEL.reset()

    print("| file | rows | name | quantity | unit |")
    print("|---|---:|---:|---:|---:|")
    for name, rows in data.items():
        held = [r for r in rows if held_out(r["input"])]
        for split, subset in zip(split_names, (held, rows), strict=True):
            s = ing.score_rows(subset)
            print(
                f"| {name} {split} | {len(subset)} | {s['name']:.1%} "
                f"| {s['quantity']:.1%} | {s['unit']:.1%} |"
            )
    lines = [r["input"] for rows in data.values() for r in rows if held_out(r["input"])]
    print(f"speed: {lines_per_second(lines):,.0f} lines/s ({len(lines)} lines, one core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
