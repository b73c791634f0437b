"""The api's routes, one module per resource, collected here."""

from fastapi import APIRouter

from . import health, recipes, search

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(search.router)
api_router.include_router(recipes.router)
api_router.include_router(health.router)

metrics_router = health.metrics_router

__all__ = ["api_router", "metrics_router"]
