"""Settings of the recipe engine (`PANTRY_ENGINE_*`); the shared ones are `PANTRY_*`."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SOURCES = ("catalogue", "web", "themealdb")


class EngineSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PANTRY_ENGINE_", env_ignore_empty=True, extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8002, ge=1, le=65535, description="health, readiness, metrics")
    concurrency: int = Field(default=4, ge=1, le=256, description="messages handled at once")
    prefetch: int = Field(default=8, ge=1, le=1000, description="unacknowledged messages held")
    max_attempts: int = Field(default=5, ge=1, le=50)
    retry_delay_ms: int = Field(default=5000, ge=0, le=3_600_000)
    sources: str = Field(default="catalogue,web,themealdb", description="enabled sources")
    catalogue_url: str | None = Field(
        default=None, description="a JSON-LD feed (file path or http(s) URL); the bundled feed"
    )
    themealdb_url: str = "https://www.themealdb.com/api/json/v1"
    themealdb_key: str = "1"
    source_timeout_seconds: float = Field(default=10, gt=0, le=120)
    max_candidates: int = Field(default=20, ge=1, le=200, description="per source and search")
    fetch_max_bytes: int = Field(default=3_000_000, ge=10_000, le=50_000_000)
    fetch_max_redirects: int = Field(default=5, ge=0, le=20)
    allow_private_urls: bool = Field(
        default=False, description="fetch from loopback and private addresses (tests only)"
    )
    shutdown_grace_seconds: float = Field(default=25, ge=0, le=600)
    watched_concurrency: int = Field(
        default=2, ge=0, le=64, description="searches of the watched lane handled at once (0: off)"
    )
    unwatched_expiry_seconds: float = Field(
        default=300,
        ge=0,
        le=86_400,
        description="a queued refresh older than this that nobody watches is dropped (0: never)",
    )

    @field_validator("sources")
    @classmethod
    def _known_sources(cls, value: str) -> str:
        names = [s.strip() for s in value.split(",") if s.strip()]
        unknown = sorted(set(names) - set(SOURCES))
        if unknown:
            raise ValueError(f"unknown sources {unknown}; known: {', '.join(SOURCES)}")
        return ",".join(names)

    @property
    def enabled_sources(self) -> list[str]:
        return [s for s in self.sources.split(",") if s]
