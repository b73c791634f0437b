"""Ingredient-parser speed: lines per second on one core, over the labelled reference lines.

python -m bench.parser
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path

from pantry_common import parse_ingredient

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).parent / "out"


def main() -> int:
    base = Path(os.environ.get("PANTRY_REFERENCE_DATA") or ROOT.parent / "shared" / "data")
    lines: list[str] = []
    for name in ("tastecooking-2024.csv", "cookstr-2017.csv"):
        with (base / "ingredients" / name).open(newline="", encoding="utf-8") as handle:
            lines.extend(row["input"] for row in csv.DictReader(handle) if row["name"])
    parse_ingredient("1 cup flour")  # load the model
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        for line in lines:
            parse_ingredient(line)
        best = max(best, len(lines) / (time.perf_counter() - started))
    print(f"ingredient parser: {best:,.0f} lines/s on one core ({len(lines)} lines, best of 3)")
    OUT.mkdir(exist_ok=True)
    result = {"lines": len(lines), "lines_per_second": round(best)}
    (OUT / "parser.json").write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
