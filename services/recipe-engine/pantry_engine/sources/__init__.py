"""Where the engine finds candidate recipes. Each source is enabled by settings, queried with a
timeout, and fails alone: its error is logged and counted, the others go on."""

from __future__ import annotations

from ._base import Candidate, Source, SourceError
from .catalogue import CatalogueSource
from .themealdb import TheMealDbSource
from .web import UrlRefused, WebPageSource

__all__ = [
    "CatalogueSource",
    "Candidate",
    "Source",
    "SourceError",
    "TheMealDbSource",
    "UrlRefused",
    "WebPageSource",
]
