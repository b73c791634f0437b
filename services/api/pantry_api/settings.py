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
    # Per-client token buckets in Redis (`ratelimit.py`): a bucket holds `burst` tokens and
    # gains `per_second` a second; each request takes one. A person never comes near these
    # (the page searches on submit); a script or a scraper does.
    rate_limit_enabled: bool = Field(
        default=True, description="refuse requests over the per-client limits with a 429"
    )
    rate_limit_search_per_second: float = Field(default=10, gt=0, le=1_000_000)
    rate_limit_search_burst: int = Field(default=40, ge=1, le=1_000_000)
    rate_limit_import_per_second: float = Field(default=1, gt=0, le=1_000_000)
    rate_limit_import_burst: int = Field(default=5, ge=1, le=1_000_000)
    rate_limit_proxy_hops: int = Field(
        default=0,
        ge=0,
        le=5,
        description=(
            "how many proxies in front of the api append to X-Forwarded-For (the cluster's "
            "gateway: 1); the client is the address the outermost of them saw. 0: the address "
            "uvicorn gives (the connection's, or a trusted proxy's header)"
        ),
    )

    @property
    def effective_cache_ttl(self) -> int:
        """A cached response never outlives the refresh interval, so a hit never hides a
        refresh that is due (the status it carries stays true)."""
        return min(self.cache_ttl_seconds, self.refresh_interval_seconds)
