"""Settings of the api service (`PANTRY_API_*`); the shared ones are `PANTRY_*`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PANTRY_API_", env_ignore_empty=True, extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    cache_ttl_seconds: int = Field(default=300, ge=1, le=86_400)
    redis_cooldown_seconds: float = Field(default=1.0, ge=0, le=60)
    startup_wait_seconds: float = Field(
        default=30, ge=0, le=600, description="how long serve and migrate wait for PostgreSQL"
    )
    access_log: bool = True
    refresh_interval_seconds: int = Field(
        default=300, ge=1, le=86_400, description="ask the engine again after this long"
    )
    events_url: str = Field(
        default="/events", description="where browsers subscribe (the realtime service)"
    )
    import_allow_private: bool = Field(
        default=False, description="allow imports from loopback and private addresses"
    )
    import_max_body_bytes: int = Field(default=8192, ge=256, le=1_048_576)

    @property
    def effective_cache_ttl(self) -> int:
        """A cached response never outlives the refresh interval, so a hit never hides a
        refresh that is due (the status it carries stays true)."""
        return min(self.cache_ttl_seconds, self.refresh_interval_seconds)
