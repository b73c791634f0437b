"""Faults the system survives on the CI cluster, with nothing lost (docs/reliability.md).

Each test causes one fault on the running release (after test_cluster.py's tests, before the dev
overlay's), checks what a user sees while it lasts and after, and leaves the release serving:
Redis' pod deleted under a search load, RabbitMQ's pod deleted while discoveries wait in its
queue and more are asked for, the api's pods drained from their node behind the
PodDisruptionBudget, PostgreSQL stopped. What each took is printed as a figure line
(`fault figure: ...`), the numbers docs/reliability.md reports."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import (
    INFRA_NAMESPACE,
    INGRESS,
    NAMESPACE,
    RELEASE,
    REPO,
    SEARCH,
    SearchLoop,
    helm,
    history,
    kubectl,
    kubectl_json,
    pods,
    ready,
    rolled_out,
    sse_events,
    until,
)

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

APP = f"app.kubernetes.io/instance={RELEASE}"
API = f"{APP},app.kubernetes.io/component=api"
ENGINE = f"{RELEASE}-recipe-engine"
SEARCH_QUEUE = "recipe-engine.search"


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Prints `fault figure: <test>: <what> = <value>` lines in the run's output."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    lines: list[str] = []

    def note(what: str, value: object) -> None:
        lines.append(f"fault figure: {request.node.name}: {what} = {value}")

    yield note
    if reporter is not None:
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)


def restarts() -> dict[str, int]:
    """Each app pod's container restarts: a fault the app survives restarts none of them."""
    return {
        pod["metadata"]["name"]: sum(
            c.get("restartCount", 0) for c in pod["status"].get("containerStatuses", [])
        )
        for pod in pods(selector=APP)
        if not pod["metadata"].get("deletionTimestamp") and pod["status"].get("phase") == "Running"
    }


def server_pod(name: str) -> tuple[str, str]:
    """(name, uid) of a server's pod: a StatefulSet's replacement has the same name."""
    found: list[tuple[str, str]] = [
        (p["metadata"]["name"], p["metadata"]["uid"])
        for p in pods(INFRA_NAMESPACE, f"app.kubernetes.io/name={name}")
        if not p["metadata"].get("deletionTimestamp")
    ]
    (pod,) = found
    return pod


def server_ready(name: str, other_than: tuple[str, str] = ("", "")) -> str | None:
    """The uid of a Ready pod of the server other than the one given."""
    for pod in pods(INFRA_NAMESPACE, f"app.kubernetes.io/name={name}"):
        if (
            pod["metadata"]["uid"] != other_than[1]
            and not pod["metadata"].get("deletionTimestamp")
            and ready(pod)
        ):
            uid: str = pod["metadata"]["uid"]
            return uid
    return None


def test_redis_deleted_under_a_search_load_answers_bypass_then_hits_again(figure: Any) -> None:
    before = restarts()
    old = server_pod("redis")
    with SearchLoop() as loop:
        until("every query a hit", lambda: loop.caches(time.monotonic() - 1)[-6:] == ["hit"] * 6)
        deleted = time.monotonic()
        kubectl("-n", INFRA_NAMESPACE, "delete", "pod", old[0], "--wait=false")
        until("a new Redis pod is Ready", lambda: server_ready("redis", other_than=old), 120, 0.2)
        back = time.monotonic()
        until("hits again", lambda: "hit" in loop.caches(back), timeout=60, every=0.2)
        again = time.monotonic()
        time.sleep(1)
    assert loop.failures == [], loop.failures[:10]
    during = loop.caches(deleted, back)
    assert "bypass" in during, during  # answered from PostgreSQL while Redis was away
    after = loop.caches(back)
    first_hit = after.index("hit")
    assert set(after[:first_hit]) <= {"bypass", "miss"}, after[: first_hit + 1]
    assert restarts() == before
    # Realtime's pub/sub came back too: a new search's events reach its stream.
    with httpx.Client(timeout=20) as client:
        body = client.get(SEARCH, params={"q": f"nosuchdish{uuid.uuid4().hex[:8]}"}).json()
    assert body["status"] == "refreshing", body
    events = sse_events(body["search_id"], "search.completed")
    assert events[-1]["event"] == "search.completed"
    figure("searches answered / failed", f"{loop.ok} / {len(loop.failures)}")
    figure("Redis away (deleted → new pod Ready)", f"{back - deleted:.1f} s")
    figure("bypass answers", sum(c == "bypass" for c in loop.caches(deleted)))
    figure("first hit after Redis returned", f"{again - back:.1f} s")


def engine_replicas() -> int:
    replicas: int = kubectl_json("-n", NAMESPACE, "get", "deploy", ENGINE)["spec"]["replicas"]
    return replicas


def queued() -> int:
    """Messages in the engine's search queue (ready and unacknowledged), as RabbitMQ counts."""
    listed = json.loads(
        kubectl(
            "-n", INFRA_NAMESPACE, "exec", "statefulset/rabbitmq", "--",
            "rabbitmqctl", "list_queues", "name", "messages", "--formatter", "json", "--quiet",
        )
    )  # fmt: skip
    (queue,) = [q for q in listed if q["name"] == SEARCH_QUEUE]
    count: int = queue["messages"]
    return count


def api_sees_rabbitmq(state: str) -> bool:
    body = httpx.get(f"{INGRESS}/api/v1/ready", timeout=10).json()
    seen: str = body["checks"]["rabbitmq"]["status"]
    return seen == state


def test_rabbitmq_deleted_during_discoveries_delivers_every_accepted_refresh(
    figure: Any,
) -> None:
    """The engine is scaled to nothing so that the refreshes wait in RabbitMQ's queue: 20 are
    there when its pod is deleted, 20 more are accepted while it is away (into the api's
    outbox). After it returns, the queue holds all 40, and each search completes once the
    engine is back."""
    replicas = engine_replicas()
    tag = uuid.uuid4().hex[:8]
    first = [f"nosuchdish{tag}a{i}" for i in range(20)]
    second = [f"nosuchdish{tag}b{i}" for i in range(20)]
    ids: dict[str, str] = {}
    kubectl("-n", NAMESPACE, "scale", "deploy", ENGINE, "--replicas=0")
    try:
        until(
            "no engine pod",
            lambda: not pods(selector=f"{APP},app.kubernetes.io/component=recipe-engine"),
            120,
        )
        start = queued()
        with httpx.Client(timeout=20) as client:

            def ask(query: str) -> None:
                answer = client.get(SEARCH, params={"q": query})
                assert answer.status_code == 200, answer.text
                assert answer.json()["status"] == "refreshing", answer.json()
                ids[query] = answer.json()["search_id"]

            for query in first:
                ask(query)
            until("the first 20 in the queue", lambda: queued() == start + 20, 60)
            old = server_pod("rabbitmq")
            deleted = time.monotonic()
            kubectl("-n", INFRA_NAMESPACE, "delete", "pod", old[0], "--wait=false")
            until("the api sees RabbitMQ away", lambda: api_sees_rabbitmq("down"), 60, 0.2)
            for query in second:
                ask(query)  # accepted: in the outbox until RabbitMQ returns
            assert server_ready("rabbitmq", other_than=old) is None  # still away
            until(
                "a new RabbitMQ pod is Ready", lambda: server_ready("rabbitmq", other_than=old), 180
            )
            back = time.monotonic()
            until("the api sees RabbitMQ again", lambda: api_sees_rabbitmq("up"), 60, 0.2)
            # The 20 kept on the volume and the 20 relayed from the outbox: none lost, none twice.
            until("all 40 in the queue", lambda: queued() == start + 40, 60)
            relayed = time.monotonic()
            kubectl("-n", NAMESPACE, "scale", "deploy", ENGINE, f"--replicas={replicas}")
            until("the engine is back", rolled_out, 180)

            def completed() -> list[str]:
                return [
                    q
                    for q in first + second
                    if client.get(SEARCH, params={"q": q}).json()["status"] == "complete"
                ]

            done = until("every search complete", lambda: len(completed()) == 40 or None, 180, 2)
            assert done
    finally:
        kubectl("-n", NAMESPACE, "scale", "deploy", ENGINE, f"--replicas={replicas}")
    until("the queue drained", lambda: queued() == start, 120)
    figure("refreshes accepted / in the queue after the restart / completed", "40 / 40 / 40")
    figure("RabbitMQ away (deleted → new pod Ready)", f"{back - deleted:.1f} s")
    figure("outbox relayed after RabbitMQ returned", f"{relayed - back:.1f} s")


def ready_api_endpoints() -> int:
    slices = kubectl_json(
        "-n", NAMESPACE, "get", "endpointslices", "-l", f"kubernetes.io/service-name={RELEASE}-api"
    )["items"]
    return sum(
        1
        for s in slices
        for e in s.get("endpoints") or []
        if (e.get("conditions") or {}).get("ready")
    )


def test_the_api_pods_drained_from_their_node_keep_one_serving_with_no_failed_request(
    figure: Any,
) -> None:
    """Two api replicas behind a PodDisruptionBudget (maxUnavailable 1); `kubectl drain` of the
    node of one of them, limited to the api's pods (the CI cluster's servers keep their data on
    the node: draining them too would be a test of the stand-ins, not of the app)."""
    before = history()[-1]
    helm(
        "upgrade", RELEASE, str(REPO / "helm" / "pantry-chef"),
        "-n", NAMESPACE, "--reuse-values", "--set", "api.replicaCount=2",
        "--set", "podDisruptionBudgets.enabled=true", "--wait", "--timeout", "10m",
    )  # fmt: skip
    node = ""
    try:
        until("two api pods Ready", lambda: ready_api_endpoints() == 2, 180)
        pdb = kubectl_json("-n", NAMESPACE, "get", "pdb", f"{RELEASE}-api")
        until(
            "the budget allows one disruption",
            lambda: (
                kubectl_json("-n", NAMESPACE, "get", "pdb", f"{RELEASE}-api")["status"].get(
                    "disruptionsAllowed"
                )
                == 1
            ),
            60,
        )
        assert pdb["spec"]["maxUnavailable"] == 1
        api_pods = [p for p in pods(selector=API) if ready(p)]
        node = api_pods[0]["spec"]["nodeName"]
        drained = {p["metadata"]["name"] for p in api_pods if p["spec"]["nodeName"] == node}
        fewest = [2]
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                fewest[0] = min(fewest[0], ready_api_endpoints())
                time.sleep(0.3)

        watcher = threading.Thread(target=watch, daemon=True)
        with SearchLoop() as loop:
            watcher.start()
            time.sleep(2)
            started = time.monotonic()
            kubectl(
                "drain", node, "--pod-selector", API, "--ignore-daemonsets",
                "--delete-emptydir-data", "--timeout=300s",
            )  # fmt: skip
            until("two api pods Ready again", lambda: ready_api_endpoints() == 2, 180)
            took = time.monotonic() - started
            time.sleep(3)
            stop.set()
            watcher.join(timeout=10)
        assert loop.failures == [], loop.failures[:10]
        assert loop.ok > 50
        assert fewest[0] >= 1, "no api replica was serving at some point"
        now = [p for p in pods(selector=API) if not p["metadata"].get("deletionTimestamp")]
        assert all(p["spec"]["nodeName"] != node for p in now)
        assert not drained & {p["metadata"]["name"] for p in now}
        figure("api pods evicted", len(drained))
        figure("searches answered / failed", f"{loop.ok} / {len(loop.failures)}")
        figure("fewest ready api endpoints during the drain", fewest[0])
        figure("drain → two replicas Ready again", f"{took:.1f} s")
    finally:
        if node:
            kubectl("uncordon", node)
        helm(
            "rollback", RELEASE, str(before["revision"]), "-n", NAMESPACE, "--wait",
            "--timeout", "10m",
        )  # fmt: skip
        until("rolled back", rolled_out, timeout=300)


def postgres(*command: str) -> str:
    return kubectl(
        "-n", INFRA_NAMESPACE, "exec", "deploy/postgresql", "--", "sh", "-c", " ".join(command),
        check=False,
    )  # fmt: skip


def test_postgres_stopped_is_a_503_with_retry_after_and_recovers_without_restarts(
    figure: Any,
) -> None:
    before = restarts()
    cached = {"q": "chicken curry"}
    with httpx.Client(timeout=20) as client:
        until(
            "a cached answer", lambda: client.get(SEARCH, params=cached).headers["x-cache"] == "hit"
        )

        def fresh() -> httpx.Response:
            return client.get(SEARCH, params={"q": f"stew {uuid.uuid4().hex[:6]}"})

        def fresh_answered(status: int, what: str, timeout: float) -> httpx.Response:
            """A search never asked before, until one gets `status`."""
            return until(
                what,
                lambda: (lambda r: r if r.status_code == status else None)(fresh()),
                timeout,
                0.2,
            )

        # The entrypoint keeps the server down while the file is there (kind/images/infra).
        postgres('touch "$PGDATA/../stopped" && pg_ctl -D "$PGDATA" -m fast -w stop')
        stopped = time.monotonic()
        try:
            refused = fresh_answered(503, "a miss refused", 60)
            noticed = time.monotonic()
            body = refused.json()
            assert body["dependency"] == "postgres", body
            assert int(refused.headers["retry-after"]) > 0
            assert refused.headers["content-type"].startswith("application/json")
            answers = []
            for _ in range(20):
                answers.append(fresh().status_code)
                hit = client.get(SEARCH, params=cached)
                assert hit.status_code == 200 and hit.headers["x-cache"] == "hit"
                time.sleep(0.2)
            assert set(answers) == {503}, answers
            ready_check = client.get(f"{INGRESS}/api/v1/ready")
            assert ready_check.status_code == 503
            assert ready_check.json()["checks"]["postgres"]["status"] == "down"
            # Every api replica stays in the Service: its readiness is its process.
            assert ready_api_endpoints() >= 1
        finally:
            postgres('rm -f "$PGDATA/../stopped"')
        released = time.monotonic()
        recovered = fresh_answered(200, "a miss answered again", 120)
        back = time.monotonic()
        assert recovered.json()["cache"] in ("miss", "bypass")
    assert restarts() == before
    figure("stop → first 503", f"{noticed - stopped:.1f} s")
    figure("PostgreSQL back → first answer", f"{back - released:.1f} s")
    figure("app container restarts", 0)
