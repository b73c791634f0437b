"""Figures that hold from run to run: min, median and max over several runs, and a warning when
they spread by more than 20% (a noisy machine, a run to repeat), so that one lucky or unlucky
run is never read as the figure."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence

NOISY = 0.20  # (max - min) / median above which a figure is flagged as noisy


def spread(values: Sequence[float]) -> dict[str, float]:
    """min, median, max and (max - min) / median of some runs' values."""
    if not values:
        raise ValueError("no runs to summarise")
    low, mid, high = min(values), statistics.median(values), max(values)
    return {
        "runs": len(values),
        "min": round(low, 3),
        "median": round(mid, 3),
        "max": round(high, 3),
        "spread": round((high - low) / mid, 3) if mid else 0.0,
    }


def line(name: str, values: Sequence[float], unit: str, digits: int = 2) -> str:
    """`name  median (min – max) unit`, with a warning on stderr when the spread is over 20%."""
    s = spread(values)
    text = (
        f"{name} {s['median']:.{digits}f} {unit}"
        f" (min {s['min']:.{digits}f}, max {s['max']:.{digits}f}, {s['runs']} runs,"
        f" spread {s['spread']:.0%})"
    )
    if s["spread"] > NOISY:
        print(
            f"WARNING: {name.strip()} spreads {s['spread']:.0%} over {s['runs']} runs"
            f" (more than {NOISY:.0%}): a noisy run, do not read one figure of it",
            file=sys.stderr,
        )
        text += "  [NOISY]"
    return text
