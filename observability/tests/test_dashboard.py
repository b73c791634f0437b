"""observability/dashboard.json: a New Relic dashboard in the JSON that New Relic exports and
imports (and NerdGraph's dashboardCreate takes), whose charts fit the grid and query the metrics
the services expose."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "observability" / "dashboard.json"
VISUALIZATIONS = {
    "viz.area",
    "viz.bar",
    "viz.billboard",
    "viz.line",
    "viz.markdown",
    "viz.table",
}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def widgets() -> list[tuple[str, dict[str, Any]]]:
    return [(page["name"], w) for page in dashboard()["pages"] for w in page["widgets"]]


def queries() -> list[str]:
    return [
        q["query"]
        for _, widget in widgets()
        for q in widget["rawConfiguration"].get("nrqlQueries", [])
    ]


def test_the_dashboard_shape() -> None:
    board = dashboard()
    assert board["name"] == "Pantry Chef"
    assert board["permissions"] in ("PUBLIC_READ_WRITE", "PUBLIC_READ_ONLY", "PRIVATE")
    assert [p["name"] for p in board["pages"]] == [
        "Overview",
        "Search (api)",
        "Messaging (recipe-engine)",
        "Realtime",
        "Cluster and logs",
    ]
    for page, widget in widgets():
        where = f"{page}: {widget['title']}"
        assert widget["title"].strip(), where
        assert widget["visualization"]["id"] in VISUALIZATIONS, where
        raw = widget["rawConfiguration"]
        if widget["visualization"]["id"] == "viz.markdown":
            assert raw["text"].strip(), where
            continue
        assert raw["nrqlQueries"], where
        for query in raw["nrqlQueries"]:
            # 0 stands for the account: docs/observability.md says how to put yours in.
            assert query["accountIds"] == [0], where
            assert re.match(r"(?i)^(SELECT|FROM) ", query["query"]), where


@pytest.mark.parametrize("page", [p["name"] for p in dashboard()["pages"]])
def test_the_widgets_fit_the_grid_without_overlapping(page: str) -> None:
    taken: dict[tuple[int, int], str] = {}
    for name, widget in widgets():
        if name != page:
            continue
        layout = widget["layout"]
        column, row, width, height = (
            layout["column"],
            layout["row"],
            layout["width"],
            layout["height"],
        )
        assert column >= 1 and row >= 1 and width >= 1 and height >= 1, widget["title"]
        assert column + width - 1 <= 12, f"{widget['title']} is wider than the 12-column grid"
        for c in range(column, column + width):
            for r in range(row, row + height):
                other = taken.setdefault((c, r), widget["title"])
                assert other == widget["title"], f"{widget['title']} overlaps {other}"


def test_the_dashboard_queries_exposed_metrics_and_covers_them() -> None:
    exposed: set[str] = set()
    for folder in ("libs", "services"):
        for path in (REPO / folder).rglob("*.py"):
            exposed |= set(
                re.findall(
                    r'(?:Counter|Gauge|Histogram)\(\s*"(pantry_[a-z0-9_]+)"', path.read_text()
                )
            )
    assert len(exposed) >= 20, "the metrics' definitions were not found in the sources"
    used = {
        re.sub(r"_(bucket|count|sum)$", "", m)
        for q in queries()
        for m in re.findall(r"\bpantry_[a-z0-9_]+", q)
    }
    assert used <= exposed, f"not exposed by any service: {sorted(used - exposed)}"
    assert not exposed - used, f"exposed but on no chart: {sorted(exposed - used)}"


def test_the_dashboard_shows_traces_logs_and_ingest() -> None:
    text = "\n".join(queries())
    assert "traceId FROM Transaction" in text
    assert "trace.id" in text and "FROM Log" in text
    assert "FROM NrConsumption" in text
    assert "FROM InfrastructureEvent" in text
