"""Migrations across upgrades and rollbacks, on the CI cluster.

The migration Job (a pre-install,pre-upgrade hook) runs the api's image, so a release whose
migrations differ is a release with another api image (`api.image.tag`). These tests build such
images from the deployed one: the same image with this checkout's migration runner
(pantry_common/_migrations.py and migrations/env.py) and, for the new releases, one more
revision, pushed to the cluster's registry.

- A migration that fails: helm reports the upgrade failed, the revision is `failed`, and not one
  pod of the release changed; searches through the gateway answer throughout.
- A backward-compatible migration (a nullable column), then `helm rollback`: the rollback runs no
  migration (the chart has no pre-rollback hook), so the previous release's pods serve on a
  schema ahead of their code, as expand/contract intends; that code's `migrate` (the next deploy
  of the rolled-back release runs it) accepts the database, with a log line, where Alembic alone
  fails on a revision it does not know.

They leave the release at the revision they found, with the images its pods ran (one rolled
outside helm included), and the schema as it was.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import (
    CONTEXT,
    HELM,
    NAMESPACE,
    RELEASE,
    REPO,
    SearchLoop,
    deployments,
    helm,
    history,
    kubectl,
    kubectl_json,
    rolled_out,
    run,
    until,
)
from .test_cluster import api_image, pod_names

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1800)]

CHART = REPO / "helm" / "pantry-chef"
LIBRARY = REPO / "libs" / "pantry_common" / "pantry_common"
REGISTRY_PUSH = "localhost:5111"  # scripts/dev.sh: how this machine pushes to the registry
API = f"{RELEASE}-api"
MIGRATE_JOB = f"{RELEASE}-migrations-migrate"
REVISION = "9001"
COLUMN = "rollback_probe"

FAILING = '''"""A migration that fails (the cluster test of a failed upgrade).

Revision ID: {revision}
Revises: {down}
"""

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    raise RuntimeError("this migration fails on purpose: the upgrade must stop here")


def downgrade() -> None:
    pass
'''

EXPAND = '''"""Expand: a nullable column, which the previous release's code never reads.

Revision ID: {revision}
Revises: {down}
"""

from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE recipes ADD COLUMN {column} text NULL")


def downgrade() -> None:
    op.execute("ALTER TABLE recipes DROP COLUMN {column}")
'''

DOCKERFILE = """FROM {base}
USER 0:0
COPY overlay/ /overlay/
RUN python -c "import pantry_common, pathlib, shutil; \\
shutil.copytree('/overlay', pathlib.Path(pantry_common.__file__).parent, dirs_exist_ok=True)" \\
 && python -m compileall -q "$(python -c 'import os, pantry_common; \\
print(os.path.dirname(pantry_common.__file__))')" \\
 && rm -rf /overlay
USER 10001:10001
"""

# SQL in an api pod, with the api's own database URL (asyncpg is in its image).
SQL = """
import asyncio, json, os, sys
import asyncpg

async def main():
    conn = await asyncpg.connect(os.environ["PANTRY_DATABASE_URL"])
    try:
        if sys.argv[2] == "fetch":
            rows = await conn.fetch(sys.argv[1])
            print(json.dumps([list(r.values()) for r in rows], default=str))
        else:
            await conn.execute(sys.argv[1])
            print("[]")
    finally:
        await conn.close()

asyncio.run(main())
"""


def sql(query: str, *, fetch: bool = True) -> Any:
    out = kubectl(
        "-n",
        NAMESPACE,
        "exec",
        f"deploy/{API}",
        "-c",
        "api",
        "--",
        "python",
        "-c",
        SQL,
        query,
        "fetch" if fetch else "execute",
    )
    return json.loads(out.strip().splitlines()[-1])


def schema_revision() -> list[str]:
    return [row[0] for row in sql("SELECT version_num FROM alembic_version")]


def has_column() -> bool:
    rows = sql(
        "SELECT count(*) FROM information_schema.columns"
        f" WHERE table_name = 'recipes' AND column_name = '{COLUMN}'"
    )
    return bool(rows[0][0] == 1)


def serving_replica_sets() -> set[str]:
    items = kubectl_json(
        "-n", NAMESPACE, "get", "replicasets", "-l", f"app.kubernetes.io/instance={RELEASE}"
    )["items"]
    return {rs["metadata"]["name"] for rs in items if rs["spec"].get("replicas", 0) > 0}


def upgrade_api(tag: str) -> subprocess.CompletedProcess[str]:
    """helm upgrade of the release with another api image (and so another migration Job)."""
    return subprocess.run(
        [HELM, "--kube-context", CONTEXT, "upgrade", RELEASE, str(CHART), "-n", NAMESPACE]
        + ["--reuse-values", "--set-string", f"api.image.tag={tag}"]
        + ["--wait", "--timeout", "10m"],
        capture_output=True,
        text=True,
        timeout=900,
    )


def live_images() -> dict[str, dict[str, str]]:
    """Each Deployment's containers' images, as they run (which may differ from the release:
    `make dev-image` rolls one service's image outside helm, and helm's upgrades undo that)."""
    return {
        d["metadata"]["name"]: {
            c["name"]: c["image"] for c in d["spec"]["template"]["spec"]["containers"]
        }
        for d in deployments()
    }


def last_deployed() -> dict[str, Any]:
    return [r for r in history() if r["status"] == "deployed"][-1]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Tags of the api image with this checkout's migration runner: `base` (no new revision),
    `fail` (a revision that raises) and `expand` (a nullable column); and `head`, the deployed
    image's head revision, which the new revision follows."""
    run(HELM, "dependency", "build", str(CHART), "--skip-refresh")
    deployed = api_image()  # <registry as the nodes name it>/pantry-chef/api:<tag>
    repository, tag = deployed.split("/", 1)[1].rsplit(":", 1)
    base = f"{REGISTRY_PUSH}/{repository}:{tag}"
    run("docker", "pull", "--quiet", base)
    head = run(
        "docker",
        "run",
        "--rm",
        base,
        "python",
        "-c",
        "from pantry_common import head_revision; print(head_revision())",
    ).strip()
    tags = {"head": head}
    built = []
    for variant, revision in (("base", None), ("fail", FAILING), ("expand", EXPAND)):
        context = tmp_path_factory.mktemp(variant)
        overlay = context / "overlay"
        (overlay / "migrations" / "versions").mkdir(parents=True)
        shutil.copy(LIBRARY / "_migrations.py", overlay / "_migrations.py")
        shutil.copy(LIBRARY / "migrations" / "env.py", overlay / "migrations" / "env.py")
        if revision:
            text = revision.format(revision=REVISION, down=head, column=COLUMN)
            (overlay / "migrations" / "versions" / f"{REVISION}_{variant}.py").write_text(text)
        (context / "Dockerfile").write_text(DOCKERFILE.format(base=base))
        tags[variant] = f"{tag}-migrations-{variant}"
        target = f"{REGISTRY_PUSH}/{repository}:{tags[variant]}"
        run("docker", "buildx", "build", "--load", "--quiet", "-t", target, str(context))
        run("docker", "push", "--quiet", target)
        built.append(target)
    yield tags
    run("docker", "image", "rm", *built, check=False)


def test_a_failed_migration_leaves_the_previous_release_serving(images: dict[str, str]) -> None:
    before = history()[-1]
    assert before["status"] == "deployed"
    image, pods, replica_sets = api_image(), pod_names(), serving_replica_sets()
    try:
        with SearchLoop() as loop:
            time.sleep(3)
            failed = upgrade_api(images["fail"])
            time.sleep(3)
        assert failed.returncode != 0
        assert "UPGRADE FAILED: pre-upgrade hooks failed" in failed.stderr, failed.stderr
        last = history()[-1]
        assert last["revision"] == before["revision"] + 1
        assert last["status"] == "failed"
        # helm stopped at the hook: not one Deployment changed, not one pod was replaced.
        assert api_image() == image
        assert pod_names() == pods
        assert serving_replica_sets() == replica_sets
        assert loop.failures == [], loop.failures[:10]
        assert loop.ok > 50
        # The failed Job stays for its logs (hook-delete-policy: before-hook-creation,
        # hook-succeeded); the migration's transaction rolled back.
        logs = kubectl("-n", NAMESPACE, "logs", f"job/{MIGRATE_JOB}")
        assert "this migration fails on purpose" in logs, logs[-2000:]
        assert schema_revision() == [images["head"]]
    finally:
        kubectl("-n", NAMESPACE, "delete", "job", MIGRATE_JOB, "--ignore-not-found")


def test_a_rollback_after_an_added_column_leaves_the_old_pods_serving(
    images: dict[str, str],
) -> None:
    found = last_deployed()
    found_image, found_images = api_image(), live_images()
    head = images["head"]
    had_lineage = sql("SELECT to_regclass('alembic_lineage') IS NOT NULL")[0][0]
    try:
        with SearchLoop() as loop:
            time.sleep(3)
            # The previous release: this checkout's migration runner, no new revision.
            old = upgrade_api(images["base"])
            assert old.returncode == 0, old.stderr
            previous = history()[-1]["revision"]
            assert schema_revision() == [head]
            # The new release adds a column (expand).
            new = upgrade_api(images["expand"])
            assert new.returncode == 0, new.stderr
            assert schema_revision() == [REVISION]
            assert has_column()
            # Rolled back: the previous release's pods, on the new schema.
            helm("rollback", RELEASE, str(previous), "-n", NAMESPACE, "--wait", "--timeout", "10m")
            until("rolled back", rolled_out, timeout=300)
            assert history()[-1]["description"] == f"Rollback to {previous}"
            assert api_image().endswith(f":{images['base']}")
            assert schema_revision() == [REVISION]  # no migration ran
            assert has_column()
            # That release's code migrates again (as its next deploy would): accepted.
            # The image's code, as the migration Job runs it: the dev overlay (make dev-watch,
            # which the cluster may be in) puts its mounted source first on the Deployments'
            # PYTHONPATH, never on the Job's.
            migrate = kubectl(
                "-n", NAMESPACE, "exec", f"deploy/{API}", "-c", "api", "--",
                "env", "-u", "PYTHONPATH", "python", "-m", "pantry_api", "migrate",
            )  # fmt: skip
            lines = [json.loads(line) for line in migrate.splitlines() if line.startswith("{")]
            (ahead,) = [line for line in lines if "ahead of this code" in line["message"]]
            assert ahead["level"] == "WARNING"
            assert ahead["database_revisions"] == [REVISION]
            assert ahead["code_heads"] == [head]
            # And through helm: the previous release deployed again, its migration hook passes.
            again = upgrade_api(images["base"])
            assert again.returncode == 0, again.stderr
            assert history()[-1]["status"] == "deployed"
            assert schema_revision() == [REVISION]
            time.sleep(3)
        assert loop.failures == [], loop.failures[:10]
        assert loop.ok > 50
    finally:
        # Back to the revision found, with its images; then contract what the test expanded.
        helm("rollback", RELEASE, str(found["revision"]), "-n", NAMESPACE, "--wait")
        until("rolled back", rolled_out, timeout=300)
        for name, containers in found_images.items():
            for container, image in containers.items():
                if live_images()[name][container] != image:
                    kubectl(
                        "-n", NAMESPACE, "set", "image", f"deploy/{name}", f"{container}={image}"
                    )
                    until(f"{name} back on {image}", rolled_out, timeout=300)
        contract = [
            f"ALTER TABLE recipes DROP COLUMN IF EXISTS {COLUMN}",
            f"UPDATE alembic_version SET version_num = '{head}' WHERE version_num = '{REVISION}'",
        ]
        if had_lineage:
            contract.append(f"DELETE FROM alembic_lineage WHERE revision = '{REVISION}'")
        else:
            contract.append("DROP TABLE IF EXISTS alembic_lineage")
        sql("; ".join(contract), fetch=False)
    assert api_image() == found_image
    assert live_images() == found_images
    assert schema_revision() == [head]
    assert not has_column()
    for deployment in deployments():
        assert deployment["status"].get("readyReplicas") == deployment["spec"]["replicas"]
