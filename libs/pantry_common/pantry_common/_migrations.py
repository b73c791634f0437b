"""Schema migrations, run by Alembic from the versions shipped in this package.

Expand, then contract: every migration keeps the previous release working (a column or table is
added in one release and dropped two releases later, never renamed in place), so that a release
can be rolled back without a down-migration. The code of that previous release then meets a
database *ahead* of it, at a revision it does not ship. Alembic alone refuses that ("Can't
locate revision"); `upgrade` accepts it, with a log line, when the unknown revision descends
from this code's head, and refuses anything else (a database on another branch). To tell the
two apart without the newer code, every applied migration is recorded with its parents in the
table `alembic_lineage` (beside Alembic's `alembic_version`, which keeps only the heads).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
LINEAGE_TABLE = "alembic_lineage"

log = logging.getLogger("pantry_common.migrations")


class SchemaRevisionError(RuntimeError):
    """The database is at a revision this code does not know and that does not descend from
    this code's head: migrating it, or serving on it, is not safe."""


def _sqlalchemy_url(dsn: str) -> str:
    scheme, _, rest = dsn.partition("://")
    if scheme in ("postgres", "postgresql", "postgresql+asyncpg"):
        return f"postgresql+asyncpg://{rest}"
    raise ValueError(f"not a PostgreSQL DSN: {scheme}://…")


def alembic_config(dsn: str, migrations_dir: Path = MIGRATIONS_DIR) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    # ConfigParser interpolates '%': escape it so that URL-encoded passwords survive.
    cfg.set_main_option("sqlalchemy.url", _sqlalchemy_url(dsn).replace("%", "%%"))
    return cfg


def upgrade(
    dsn: str,
    revision: str = "head",
    *,
    wait_seconds: float = 0.0,
    migrations_dir: Path = MIGRATIONS_DIR,
) -> None:
    """Apply every migration that is missing. Safe to run twice; each one is transactional.

    To `head`, a database ahead of this code (at a revision that descends from this code's
    head, recorded in `alembic_lineage`: a newer release migrated it, then was rolled back) is
    left as it is, with a warning; a database at a revision on any other line raises
    `SchemaRevisionError`. `migrations_dir` is another copy of the versions (tests).

    With `wait_seconds`, first wait that long for PostgreSQL to accept a connection: a migration
    Job starts beside a server still starting, or before a network policy admits its new pod.
    Blocking (Alembic runs its own event loop): call it from a thread in async code.
    """
    if wait_seconds > 0:
        from ._db import wait_for_database

        asyncio.run(
            wait_for_database(_sqlalchemy_url(dsn).replace("+asyncpg", "", 1), wait_seconds)
        )
    cfg = alembic_config(dsn, migrations_dir)
    cfg.attributes["accept_ahead"] = revision == "head"
    command.upgrade(cfg, revision)


def downgrade(dsn: str, revision: str, *, migrations_dir: Path = MIGRATIONS_DIR) -> None:
    command.downgrade(alembic_config(dsn, migrations_dir), revision)


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


# --- the lineage: called by env.py, on Alembic's synchronous connection ------------------------


def record_lineage(ctx: Any, step: Any, heads: Any, run_args: Any) -> None:  # noqa: ARG001
    """Alembic's `on_version_apply` hook: in the migration's own transaction, record the
    revision it applied and its parents (or forget the revision it undid)."""
    from sqlalchemy import text

    connection = ctx.connection
    connection.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {LINEAGE_TABLE} ("
            " revision text PRIMARY KEY,"
            " down_revisions text[] NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
    )
    for revision in step.up_revision_ids:
        if step.is_upgrade:
            connection.execute(
                text(
                    f"INSERT INTO {LINEAGE_TABLE} (revision, down_revisions)"
                    " VALUES (:revision, CAST(:parents AS text[]))"
                    " ON CONFLICT (revision) DO UPDATE"
                    " SET down_revisions = EXCLUDED.down_revisions, applied_at = now()"
                ),
                {"revision": revision, "parents": list(step.down_revision_ids)},
            )
        else:
            connection.execute(
                text(f"DELETE FROM {LINEAGE_TABLE} WHERE revision = :revision"),
                {"revision": revision},
            )


def _lineage(connection: Any) -> dict[str, tuple[str, ...]]:
    from sqlalchemy import text

    if connection.execute(text("SELECT to_regclass(:t)"), {"t": LINEAGE_TABLE}).scalar() is None:
        return {}
    rows = connection.execute(text(f"SELECT revision, down_revisions FROM {LINEAGE_TABLE}"))
    return {revision: tuple(parents) for revision, parents in rows}


def database_ahead(
    connection: Any, known: Iterable[str], code_heads: Iterable[str], db_heads: Iterable[str]
) -> list[str]:
    """The database's heads that this code does not know, when they all descend from this
    code's heads (the database is ahead: nothing to do); [] when it knows every head (migrate
    as usual). Raises `SchemaRevisionError` for an unknown head on another line: one that
    descends from an older revision of this code, or whose ancestry is not recorded."""
    known, code_heads = set(known), set(code_heads)
    unknown = sorted(set(db_heads) - known)
    if not unknown:
        return []
    lineage = _lineage(connection)
    code = ", ".join(sorted(code_heads))
    for head in unknown:
        # The known revisions where this head's ancestry meets this code's history.
        meets: set[str] = set()
        todo, seen = [head], set()
        while todo:
            revision = todo.pop()
            if revision in seen:
                continue
            seen.add(revision)
            if revision in known:
                meets.add(revision)
            elif revision in lineage:
                todo.extend(lineage[revision])
            else:
                raise SchemaRevisionError(
                    f"the database is at revision {head}, which this code (head {code}) does not"
                    f" know, and the ancestry of {revision} is not recorded in {LINEAGE_TABLE}:"
                    " not a newer release of this schema; refusing to migrate it"
                )
        if not meets or not meets <= code_heads:
            raise SchemaRevisionError(
                f"the database is at revision {head}, which this code (head {code}) does not"
                f" know and which descends from {', '.join(sorted(meets)) or 'no revision'} of"
                " this code, not from its head: another branch of the schema; refusing to"
                " migrate it"
            )
    return unknown
