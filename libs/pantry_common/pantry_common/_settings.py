"""Settings shared by every service: where the servers are and how the process behaves."""

from __future__ import annotations

from typing import Literal
from urllib.parse import SplitResult, unquote, urlsplit

from pydantic import AmqpDsn, Field, PostgresDsn, RedisDsn, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "staging", "production"]

#: Passwords that only ever belong on a developer's machine.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "pantry", "password", "guest", "secret"}
)


def _is_iam_login(url: SplitResult) -> bool:
    """A Cloud SQL IAM database user (`<account>@<project>.iam`, URL-encoded `%40`) through the
    Cloud SQL Auth Proxy on this pod's loopback: no password exists, the proxy logs in with the
    pod's Workload Identity token (`--auto-iam-authn`; docs/gke.md)."""
    user = unquote(url.username or "")
    return (
        url.password is None
        and url.hostname in ("127.0.0.1", "localhost")
        and "@" in user
        and user.endswith(".iam")
    )


class CommonSettings(BaseSettings):
    """`PANTRY_*` variables read by every service."""

    model_config = SettingsConfigDict(env_prefix="PANTRY_", env_ignore_empty=True, extra="ignore")

    environment: Environment = "development"
    database_url: PostgresDsn = Field(
        default=PostgresDsn("postgresql://pantry:pantry@127.0.0.1:5432/pantry"),
        description="PostgreSQL DSN.",
    )
    redis_url: RedisDsn = Field(default=RedisDsn("redis://127.0.0.1:6379/0"))
    rabbitmq_url: AmqpDsn = Field(default=AmqpDsn("amqp://guest:guest@127.0.0.1:5672/"))
    redis_prefix: str = Field(
        default="pantry",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="Prefix of every Redis key.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    db_pool_min: int = Field(default=2, ge=1, le=100)
    db_pool_max: int = Field(default=10, ge=1, le=200)
    db_statement_timeout_ms: int = Field(default=5000, ge=100, le=600_000)
    redis_timeout_seconds: float = Field(default=0.5, gt=0, le=30)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> CommonSettings:
        if self.environment in ("development", "test"):
            return self
        database = urlsplit(str(self.database_url))
        for name, dsn in (
            ("PANTRY_DATABASE_URL", self.database_url),
            ("PANTRY_RABBITMQ_URL", self.rabbitmq_url),
        ):
            if dsn is self.database_url and _is_iam_login(database):
                continue
            password = urlsplit(str(dsn)).password or ""
            if password.lower() in PLACEHOLDER_SECRETS:
                raise ValueError(f"{name} uses a placeholder password outside development")
        return self
