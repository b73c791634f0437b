"""Settings of the realtime service (`PANTRY_REALTIME_*`); the shared ones are `PANTRY_*`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RealtimeSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PANTRY_REALTIME_", env_ignore_empty=True, extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8001, ge=1, le=65535)
    cors_origins: str = Field(
        default="http://127.0.0.1:8000,http://localhost:8000,http://localhost:8080",
        description="comma-separated origins allowed to subscribe from a browser",
    )
    max_connections: int = Field(default=10_000, ge=1, le=1_000_000)
    heartbeat_seconds: float = Field(default=15, gt=0, le=15)
    client_queue_size: int = Field(default=100, ge=1, le=10_000)
    retry_ms: int = Field(default=3000, ge=100, le=60_000, description="SSE reconnect advice")
    shutdown_grace_seconds: float = Field(default=5, ge=0, le=60)

    @property
    def origins(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]
