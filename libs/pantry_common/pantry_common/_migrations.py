"""Schema migrations, run by Alembic from the versions shipped in this package."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlalchemy_url(dsn: str) -> str:
    scheme, _, rest = dsn.partition("://")
    if scheme in ("postgres", "postgresql", "postgresql+asyncpg"):
        return f"postgresql+asyncpg://{rest}"
    raise ValueError(f"not a PostgreSQL DSN: {scheme}://…")


def alembic_config(dsn: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates '%': escape it so that URL-encoded passwords survive.
    cfg.set_main_option("sqlalchemy.url", _sqlalchemy_url(dsn).replace("%", "%%"))
    return cfg


def upgrade(dsn: str, revision: str = "head", *, wait_seconds: float = 0.0) -> None:
    """Apply every migration that is missing. Safe to run twice; each one is transactional.

    With `wait_seconds`, first wait that long for PostgreSQL to accept a connection: a migration
    Job starts beside a server still starting, or before a network policy admits its new pod.
    Blocking (Alembic runs its own event loop): call it from a thread in async code.
    """
    if wait_seconds > 0:
        from ._db import wait_for_database

        asyncio.run(
            wait_for_database(_sqlalchemy_url(dsn).replace("+asyncpg", "", 1), wait_seconds)
        )
    command.upgrade(alembic_config(dsn), revision)


def downgrade(dsn: str, revision: str) -> None:
    command.downgrade(alembic_config(dsn), revision)


def head_revision() -> str:
    """The newest migration shipped with this package."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


def execute_script(script: str) -> None:
    """Run a migration's SQL script one statement at a time (asyncpg prepares each statement,
    so it takes no multi-statement strings). Statements end with `;` and a newline."""
    from alembic import op

    for statement in script.split(";\n"):
        if statement.strip():
            op.execute(statement)
