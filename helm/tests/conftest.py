"""Fixtures of the chart tests (helpers in chart_render.py)."""

from __future__ import annotations

import pytest
from chart_render import SCENARIOS, Obj, render


@pytest.fixture(scope="session", params=list(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def objects(scenario: str) -> list[Obj]:
    return render(*SCENARIOS[scenario])
