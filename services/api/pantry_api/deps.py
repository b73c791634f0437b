"""Dependencies the routes declare, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .state import AppState


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.pantry
    return state


State = Annotated[AppState, Depends(_state)]
API_PREFIX = "/api/v1"
