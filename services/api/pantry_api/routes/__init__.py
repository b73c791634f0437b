"""The api's routes, one module per resource, collected here.

Each router carries the full `/api/v1` prefix itself, so that a route's template (the label of
the latency metric) is its whole path.
"""

from fastapi import APIRouter

from . import imports, page, recipes, search

api_routers: list[APIRouter] = [search.router, imports.router, recipes.router]
page_router = page.router

__all__ = ["api_routers", "page_router"]
