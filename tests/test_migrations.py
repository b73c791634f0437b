"""Migrations across a rollback: the code of the previous release meets a database ahead of it.

A newer release adds a backward-compatible migration (expand: a nullable column), then is rolled
back. The older code's `migrate` (run again by the next deploy of that release) must accept the
database, whose revision it does not ship, because that revision descends from its own head; a
database on another line of the schema must still be refused. Real PostgreSQL; the "newer code"
is a copy of the shipped versions with one more revision. Every migration runs in a process of
its own, as the migration Job runs it (Alembic runs an event loop of its own, blocking)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from pantry_common import head_revision
from pantry_common._migrations import MIGRATIONS_DIR

from .conftest import drop_database, with_database
from .servers import ServerUrls

pytestmark = pytest.mark.integration

HEAD = head_revision()
NEWER = "9001"

EXPAND = '''"""A newer release's backward-compatible migration: a nullable column.

Revision ID: {revision}
Revises: {down}
"""

from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE recipes ADD COLUMN rollback_probe text NULL")


def downgrade() -> None:
    op.execute("ALTER TABLE recipes DROP COLUMN rollback_probe")
'''


def versions_with(tmp: Path, revision: str, down: str, *, drop: str | None = None) -> Path:
    """A copy of the shipped migrations plus one revision (and without `drop`'s file)."""
    target = tmp / f"migrations-{revision}"
    shutil.copytree(MIGRATIONS_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    if drop:
        (file,) = (target / "versions").glob(f"{drop}_*.py")
        file.unlink()
    text = EXPAND.format(revision=revision, down=down)
    (target / "versions" / f"{revision}_newer.py").write_text(text)
    return target


@pytest.fixture
async def empty_database(servers: ServerUrls) -> AsyncIterator[str]:
    name = f"pantry_m_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(servers.postgres)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield with_database(servers.postgres, name)
    finally:
        await drop_database(servers, name)


async def state(dsn: str) -> tuple[list[str], dict[str, list[str]], bool]:
    """alembic_version's heads, the lineage, whether the newer release's column exists."""
    conn = await asyncpg.connect(dsn)
    try:
        heads = [
            r["version_num"] for r in await conn.fetch("SELECT version_num FROM alembic_version")
        ]
        lineage = {
            r["revision"]: list(r["down_revisions"])
            for r in await conn.fetch("SELECT revision, down_revisions FROM alembic_lineage")
        }
        column = await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns"
            " WHERE table_name = 'recipes' AND column_name = 'rollback_probe'"
        )
        return heads, lineage, column == 1
    finally:
        await conn.close()


MIGRATE = """
import sys
from pathlib import Path
from pantry_common import migrate
from pantry_common._migrations import downgrade
dsn, action, directory = sys.argv[1:4]
if action == "upgrade":
    migrate(dsn, migrations_dir=Path(directory))
else:
    downgrade(dsn, sys.argv[4], migrations_dir=Path(directory))
"""


async def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def newer_code(dsn: str, migrations: Path, *downgrade_to: str) -> None:
    """The library's upgrade to head (or downgrade) with another copy of the versions."""
    action = "downgrade" if downgrade_to else "upgrade"
    code, _, err = await run("-c", MIGRATE, dsn, action, str(migrations), *downgrade_to)
    assert code == 0, err[-2000:]


async def migrate_process(
    dsn: str, servers: ServerUrls
) -> tuple[int, list[dict[str, object]], str]:
    """`python -m pantry_api migrate` of this code, as the migration Job runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANTRY_")}
    env.update(PANTRY_DATABASE_URL=dsn, PANTRY_REDIS_URL=servers.redis)
    code, out, err = await run("-m", "pantry_api", "migrate", env=env)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return code, lines, err


async def test_every_applied_migration_is_recorded_with_its_parents(empty_database: str) -> None:
    await newer_code(empty_database, MIGRATIONS_DIR)  # the shipped versions
    heads, lineage, _ = await state(empty_database)
    assert heads == [HEAD]
    assert lineage["0001"] == []
    assert lineage[HEAD] == [f"{int(HEAD) - 1:04d}"]
    assert len(lineage) == int(HEAD)


async def test_the_previous_release_accepts_a_database_ahead_of_it(
    empty_database: str, servers: ServerUrls, tmp_path: Path
) -> None:
    newer = await asyncio.to_thread(versions_with, tmp_path, NEWER, HEAD)
    await newer_code(empty_database, newer)
    heads, lineage, column = await state(empty_database)
    assert (heads, lineage[NEWER], column) == ([NEWER], [HEAD], True)

    # Rolled back: the previous release's code migrates again (its next deploy's hook Job).
    code, lines, err = await migrate_process(empty_database, servers)
    assert code == 0, err[-2000:]
    (ahead,) = [line for line in lines if "ahead of this code" in str(line["message"])]
    assert ahead["level"] == "WARNING"
    assert ahead["database_revisions"] == [NEWER]
    assert ahead["code_heads"] == [HEAD]
    # Nothing changed: the database keeps its revision and the newer release's column.
    heads, _, column = await state(empty_database)
    assert heads == [NEWER]
    assert column

    # And the newer release, deployed again, finds its schema in place.
    await newer_code(empty_database, newer)
    assert (await state(empty_database))[0] == [NEWER]


async def test_a_database_on_another_branch_is_refused(
    empty_database: str, servers: ServerUrls, tmp_path: Path
) -> None:
    """A revision that descends from an older revision of this code, not from its head."""
    before_head = f"{int(HEAD) - 1:04d}"
    other = await asyncio.to_thread(versions_with, tmp_path, NEWER, before_head, drop=HEAD)
    await newer_code(empty_database, other)
    assert (await state(empty_database))[0] == [NEWER]

    code, _, err = await migrate_process(empty_database, servers)
    assert code != 0
    assert "SchemaRevisionError" in err and "another branch" in err, err[-2000:]
    assert f"descends from {before_head} of this code, not from its head" in err
    assert (await state(empty_database))[0] == [NEWER]


async def test_an_unknown_revision_without_recorded_ancestry_is_refused(
    empty_database: str, servers: ServerUrls
) -> None:
    """Stamped by hand, or migrated by code that recorded no lineage: nothing says it is ahead."""
    await newer_code(empty_database, MIGRATIONS_DIR)
    conn = await asyncpg.connect(empty_database)
    try:
        await conn.execute("UPDATE alembic_version SET version_num = 'f00d'")
    finally:
        await conn.close()
    code, _, err = await migrate_process(empty_database, servers)
    assert code != 0
    assert "SchemaRevisionError" in err and "not recorded in alembic_lineage" in err, err[-2000:]


async def test_a_downgrade_forgets_the_revision_it_undid(
    empty_database: str, tmp_path: Path
) -> None:
    newer = await asyncio.to_thread(versions_with, tmp_path, NEWER, HEAD)
    await newer_code(empty_database, newer)
    await newer_code(empty_database, newer, HEAD)
    heads, lineage, column = await state(empty_database)
    assert heads == [HEAD]
    assert NEWER not in lineage
    assert not column
