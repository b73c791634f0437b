"""Pantry Chef on the CI cluster, as `make dev` left it (scripts/dev.sh on PANTRY_CLUSTER=kind).

The order matters: the first tests look at the release as installed; the later ones change it
(upgrade, rollback, a killed engine, a killed helm) and leave it serving again."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from websockets.sync.client import connect

from pantry_common import catalogue_documents

from .conftest import (
    CONTEXT,
    HELM,
    INFRA_NAMESPACE,
    INGRESS,
    NAMESPACE,
    RELEASE,
    REPO,
    SEARCH,
    SearchLoop,
    deployments,
    helm,
    history,
    kubectl,
    kubectl_json,
    pods,
    ready,
    rolled_out,
    run,
    service_programmed,
    sse_events,
    until,
)

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

# A Pod Security Standard `restricted` container, as the chart's own pods have it.
RESTRICTED = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def api_image() -> str:
    (deployment,) = [d for d in deployments() if d["metadata"]["name"].endswith("-api")]
    image: str = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    return image


# --- the cluster and the release as installed ----------------------------------------------------


def test_three_nodes_of_the_pinned_version_with_the_cni_on_each() -> None:
    nodes = kubectl_json("get", "nodes")["items"]
    roles = sorted(
        "control-plane"
        if "node-role.kubernetes.io/control-plane" in n["metadata"]["labels"]
        else "worker"
        for n in nodes
    )
    assert roles == ["control-plane", "worker", "worker"]
    for node in nodes:
        assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.34.4"
        ready_condition = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready_condition[0]["status"] == "True", node["metadata"]["name"]
    routers = pods("kube-system", "k8s-app=kube-router")
    assert len(routers) == 3 and all(ready(p) for p in routers)


def test_the_app_namespace_enforces_restricted_and_admits_every_pod() -> None:
    labels = kubectl_json("get", "namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    # Enforced, not only labelled: the API server refuses a pod that asks for more.
    refused = subprocess.run(
        [
            "kubectl",
            "--context",
            CONTEXT,
            "-n",
            NAMESPACE,
            "run",
            "too-privileged",
            "--image",
            api_image(),
            "--restart=Never",
            "--dry-run=server",
            "--overrides",
            json.dumps(
                {
                    "spec": {
                        "containers": [
                            {
                                "name": "too-privileged",
                                "image": api_image(),
                                "securityContext": {"privileged": True},
                            }
                        ]
                    }
                }
            ),
        ],
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0
    assert 'violates PodSecurity "restricted' in refused.stderr, refused.stderr
    # Every pod of the release runs, Ready (the test pod and the hook Jobs have completed).
    running = [
        p
        for p in pods(selector=f"app.kubernetes.io/instance={RELEASE}")
        if p["status"]["phase"] != "Succeeded"
    ]
    components = sorted(p["metadata"]["labels"]["app.kubernetes.io/component"] for p in running)
    assert components == ["api", "realtime", "recipe-engine"]
    assert all(ready(p) for p in running), [p["metadata"]["name"] for p in running]


def test_the_migrations_completed_before_the_api_started() -> None:
    status = json.loads(helm("status", RELEASE, "-n", NAMESPACE, "-o", "json"))
    hooks = {h["name"]: h for h in status["hooks"]}
    (migrate,) = [h for name, h in hooks.items() if name.endswith("-migrate")]
    assert migrate["events"] == ["pre-install", "pre-upgrade"]
    assert migrate["last_run"]["phase"] == "Succeeded"
    finished = migrate["last_run"]["completed_at"]
    (api,) = [
        p
        for p in pods(selector=f"app.kubernetes.io/instance={RELEASE}")
        if p["metadata"]["labels"]["app.kubernetes.io/component"] == "api"
    ]
    started = api["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
    assert finished[:19] <= started[:19], (finished, started)


def test_helm_test_passes_and_shows_its_logs() -> None:
    output = helm("test", RELEASE, "-n", NAMESPACE, "--timeout", "5m", "--logs")
    assert "Phase:          Succeeded" in output, output
    assert output.count("ok   200") == 6, output  # health and readiness of the three services


def signed_package() -> tuple[Path, str]:
    """The signed package of the chart make cluster-test installed, and the keyring it was
    verified with (scripts/cluster.sh makes both)."""
    package = os.environ.get("PANTRY_CHART_PACKAGE", "")
    keyring = os.environ.get("PANTRY_CHART_KEYRING", "")
    if not package or not keyring:
        pytest.fail("no PANTRY_CHART_PACKAGE and PANTRY_CHART_KEYRING: make cluster-test sets them")
    return Path(package), keyring


def test_the_signed_package_verifies_and_is_the_deployed_chart() -> None:
    """scripts/dev.sh installed it with --verify (its output says so: the last test here); here,
    the package verifies and the release runs that chart's name and version."""
    package, keyring = signed_package()
    verified = run(HELM, "verify", str(package), "--keyring", keyring)
    assert "Signed by: Pantry Chef cluster test" in verified, verified
    assert {revision["chart"] for revision in history()} == {package.name.removesuffix(".tgz")}


def tampered(package: Path, into: Path) -> Path:
    """The package with one byte of one template changed and packed again, its .prov beside it."""
    changed = False
    out = io.BytesIO()
    with (
        tarfile.open(package, "r:gz") as original,
        tarfile.open(fileobj=out, mode="w:gz") as copy,
    ):
        for member in original.getmembers():
            extracted = original.extractfile(member)
            data = extracted.read() if extracted else None
            if data and not changed and member.name.startswith("pantry-chef/templates/"):
                data = bytes([data[0] ^ 0x20]) + data[1:]
                changed = True
            copy.addfile(member, io.BytesIO(data) if data is not None else None)
    assert changed, "the package has no template to change"
    target = into / package.name
    target.write_bytes(out.getvalue())
    (into / f"{package.name}.prov").write_bytes(
        package.with_name(f"{package.name}.prov").read_bytes()
    )
    return target


def test_a_tampered_package_is_refused_by_helm_install_verify(tmp_path: Path) -> None:
    """helm install --verify against the cluster, of a copy of the package with one template
    byte changed: refused, and nothing is installed (no release, no namespace); an upgrade of the
    running release with it is refused too, and the release stays at its revision."""
    package, keyring = signed_package()
    bad = tampered(package, tmp_path)
    namespace = f"pantry-ci-verify-{uuid.uuid4().hex[:6]}"
    before = history()[-1]
    install = subprocess.run(
        [HELM, "--kube-context", CONTEXT, "install", "tampered", str(bad), "--verify",
         "--keyring", keyring, "-n", namespace, "--create-namespace", "--wait"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode != 0, install.stdout
    assert "sha256 sum does not match" in install.stderr, install.stderr
    releases = json.loads(helm("list", "-A", "-a", "-o", "json"))
    assert "tampered" not in {r["name"] for r in releases}, releases
    assert f"namespace/{namespace}\n" not in kubectl("get", "namespaces", "-o", "name")
    upgrade = subprocess.run(
        [HELM, "--kube-context", CONTEXT, "upgrade", RELEASE, str(bad), "--verify",
         "--keyring", keyring, "-n", NAMESPACE, "--reuse-values", "--wait", "--timeout", "5m"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert upgrade.returncode != 0 and "sha256 sum does not match" in upgrade.stderr, upgrade.stderr
    assert history()[-1] == before
    # The genuine package passes the same check (a server-side dry run: nothing changes).
    genuine = helm("upgrade", RELEASE, str(package), "--verify", "--keyring", keyring,
                   "-n", NAMESPACE, "--reuse-values", "--dry-run=server")  # fmt: skip
    assert "pantry-registry.localhost:5000/pantry-chef/api:" in genuine
    assert history()[-1] == before


def test_health_and_a_search_from_the_seeded_catalogue_through_the_gateway() -> None:
    with httpx.Client(timeout=20) as client:
        health = client.get(f"{INGRESS}/api/v1/health")
        assert health.status_code == 200
        answer = client.get(SEARCH, params={"q": "chicken curry"})
        assert answer.status_code == 200
        body = answer.json()
        assert body["total"] > 0
        assert any("curry" in r["title"].lower() for r in body["results"])
        # /metrics never leaves the cluster through the gateway.
        assert client.get(f"{INGRESS}/metrics").status_code == 404


def feed_only_dish(client: httpx.Client) -> tuple[str, dict[str, Any]]:
    """A dish of the engine's feed that the catalogue does not have yet, and its first answer."""
    for doc in catalogue_documents("feed"):
        title = str(doc["name"])
        body = client.get(SEARCH, params={"q": title.lower()}).json()
        if body["status"] == "refreshing" and title not in [r["title"] for r in body["results"]]:
            return title, body
    raise AssertionError("every dish of the feed is already stored")


def test_the_engine_in_the_cluster_finds_a_dish_only_its_feed_has_and_sse_streams_it() -> None:
    with httpx.Client(timeout=20) as client:
        title, first = feed_only_dish(client)
        events = sse_events(first["search_id"], "search.completed")
        kinds = [e["event"] for e in events]
        assert "search.results" in kinds, kinds
        found = [
            r["title"]
            for e in events
            if e["event"] == "search.results"
            for r in e["data"]["data"]["recipes"]
        ]
        assert title in found
        again = client.get(SEARCH, params={"q": title.lower()}).json()
        assert title in [r["title"] for r in again["results"]]


def test_a_websocket_subscription_through_the_gateway() -> None:
    with httpx.Client(timeout=20) as client:
        body = client.get(SEARCH, params={"q": "feijoada"}).json()
    ws_url = INGRESS.replace("http://", "ws://") + "/ws"
    frames: list[dict[str, Any]] = []
    with connect(ws_url, open_timeout=20) as ws:
        ws.send(json.dumps({"type": "subscribe", "search_id": body["search_id"]}))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            frame = json.loads(ws.recv(timeout=deadline - time.monotonic()))
            frames.append(frame)
            if frame.get("type") == "event" and frame["event"] == "search.completed":
                break
    assert frames[0]["type"] == "subscribed"
    kinds = [f["event"] for f in frames if f["type"] == "event"]
    assert "search.completed" in kinds, frames


def test_rabbitmq_alarms_on_a_share_of_its_container_limit() -> None:
    status = json.loads(
        kubectl(
            "-n",
            INFRA_NAMESPACE,
            "exec",
            "statefulset/rabbitmq",
            "--",
            "rabbitmqctl",
            "status",
            "--formatter",
            "json",
        )
    )
    limit = kubectl_json("-n", INFRA_NAMESPACE, "get", "statefulset/rabbitmq")["spec"]["template"][
        "spec"
    ]["containers"][0]["resources"]["limits"]["memory"]
    assert limit == "512Mi"
    assert status["vm_memory_high_watermark_setting"] == {"relative": 0.4}
    assert status["vm_memory_high_watermark_limit"] == int(0.4 * 512 * 1024 * 1024)


# --- NetworkPolicies and Istio's objects ----------------------------------------------------------

PROBE = """
import socket, sys, threading, time

lock = threading.Lock()

def say(*words):
    with lock:
        sys.stdout.write(" ".join(words) + "\\n")
        sys.stdout.flush()

def attempt(target):
    host, port = target.rsplit(":", 1)
    deadline = time.monotonic() + 30  # a new pod's address reaches the policies in seconds
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=3).close()
            say(target, "open")
            return
        except OSError as error:
            if time.monotonic() > deadline:
                say(target, "closed", type(error).__name__)
                return
            time.sleep(1)

threads = [threading.Thread(target=attempt, args=(t,)) for t in sys.argv[1:]]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def probe(name: str, labels: dict[str, str], targets: list[str]) -> dict[str, str]:
    """Runs a restricted pod in the app's namespace that tries each host:port once."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "probe",
                    "image": api_image(),
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["python", "-c", PROBE, *targets],
                    "securityContext": RESTRICTED,
                    "resources": {"limits": {"memory": "64Mi"}, "requests": {"cpu": "10m"}},
                }
            ],
        },
    }
    kubectl("delete", "pod", "-n", NAMESPACE, name, "--ignore-not-found", "--wait")
    kubectl("apply", "-f", "-", stdin=json.dumps(pod))
    try:
        until(
            f"probe {name} finished",
            lambda: (
                kubectl_json("-n", NAMESPACE, "get", "pod", name)["status"]["phase"]
                in ("Succeeded", "Failed")
            ),
            timeout=120,
        )
        lines = kubectl("-n", NAMESPACE, "logs", name).splitlines()
    finally:
        kubectl("delete", "pod", "-n", NAMESPACE, name, "--ignore-not-found", "--wait=false")
    return {line.split()[0]: line.split()[1] for line in lines}


def test_network_policies_are_enforced() -> None:
    api = f"{RELEASE}-api.{NAMESPACE}.svc.cluster.local:8000"
    postgres = f"postgresql.{INFRA_NAMESPACE}.svc.cluster.local:5432"
    gateway = "pantry-ci-gateway.istio-ingress.svc.cluster.local:80"  # no policy: always open
    stranger = probe("np-stranger", {"pantry-ci/probe": "stranger"}, [gateway, api, postgres])
    assert stranger == {gateway: "open", api: "closed", postgres: "closed"}
    member = probe("np-member", {"app.kubernetes.io/instance": RELEASE}, [gateway, api, postgres])
    assert member == {gateway: "open", api: "open", postgres: "open"}


ISTIO_KINDS = {
    "Gateway",
    "VirtualService",
    "DestinationRule",
    "PeerAuthentication",
    "AuthorizationPolicy",
}


def test_the_charts_istio_objects_are_accepted_by_the_api_server() -> None:
    """No Envoy runs here: Istio's CRDs (with their CEL rules) validate the chart's objects."""
    rendered = run(
        HELM,
        "template",
        RELEASE,
        str(REPO / "helm" / "pantry-chef"),
        "-n",
        "pantry-istio",
        "-f",
        str(REPO / "helm" / "values" / "local.yaml"),
        "--set",
        "istio.enabled=true",
        "--set-string",
        "image.tag=check",
    )
    documents = [d for d in yaml.safe_load_all(rendered) if d and d["kind"] in ISTIO_KINDS]
    assert {d["kind"] for d in documents} == ISTIO_KINDS
    kubectl(
        "apply",
        "-f",
        "-",
        stdin=kubectl("create", "namespace", "pantry-istio", "--dry-run=client", "-o", "yaml"),
    )
    try:
        out = kubectl("-n", "pantry-istio", "apply", "-f", "-", stdin=yaml.safe_dump_all(documents))
        assert len(out.strip().splitlines()) == len(documents), out
        for document in documents:
            kind = document["kind"].lower() + ".networking.istio.io"
            if document["kind"] in ("PeerAuthentication", "AuthorizationPolicy"):
                kind = document["kind"].lower() + ".security.istio.io"
            kubectl("-n", "pantry-istio", "get", kind, document["metadata"]["name"])
        # A broken object is refused: the validation is real.
        (peer,) = [d for d in documents if d["kind"] == "PeerAuthentication"]
        broken = {**peer, "spec": {**peer["spec"], "mtls": {"mode": "SOMETIMES"}}}
        refused = subprocess.run(
            [
                "kubectl",
                "--context",
                CONTEXT,
                "-n",
                "pantry-istio",
                "apply",
                "--dry-run=server",
                "-f",
                "-",
            ],
            input=json.dumps(broken),
            capture_output=True,
            text=True,
        )
        assert refused.returncode != 0
        assert "SOMETIMES" in refused.stderr, refused.stderr
    finally:
        kubectl("delete", "namespace", "pantry-istio", "--wait=false")


# --- changes: upgrade and rollback, a killed engine, a killed helm ------------------------------


def test_an_all_digit_revision_is_a_tag_the_cluster_accepts() -> None:
    """A short git revision can be all digits: given with --set it becomes a number, which the
    chart's schema refuses; scripts/dev.sh gives it with --set-string, which the release takes."""
    chart = str(REPO / "helm" / "pantry-chef")
    base = ["upgrade", RELEASE, chart, "-n", NAMESPACE, "--reuse-values", "--dry-run=server"]
    as_string = run(HELM, "--kube-context", CONTEXT, *base, "--set-string", "image.tag=1234567")
    assert "image: pantry-registry.localhost:5000/pantry-chef/api:1234567" in as_string
    as_number = subprocess.run(
        [HELM, "--kube-context", CONTEXT, *base, "--set", "image.tag=1234567"],
        capture_output=True,
        text=True,
    )
    assert as_number.returncode != 0
    assert "/image/tag" in as_number.stderr, as_number.stderr
    dev = (REPO / "scripts" / "dev.sh").read_text()
    assert '--set-string "image.tag=$tag"' in dev


def upgrade_with(annotation: str) -> list[str]:
    """helm's arguments to upgrade the release with a new value: a pod annotation."""
    chart = str(REPO / "helm" / "pantry-chef")
    value = f"podAnnotations.{annotation}={uuid.uuid4()}"
    return ["upgrade", RELEASE, chart, "-n", NAMESPACE, "--reuse-values"] + [
        "--set-string",
        value,
        "--wait",
        "--timeout",
        "10m",
    ]


def pod_names() -> set[str]:
    """The release's pods that serve: running and not on their way out."""
    return {
        p["metadata"]["name"]
        for p in pods(selector=f"app.kubernetes.io/instance={RELEASE}")
        if p["status"]["phase"] == "Running" and not p["metadata"].get("deletionTimestamp")
    }


def test_an_upgrade_rolls_every_deployment_with_no_failed_request_then_rolls_back() -> None:
    before = history()[-1]
    old_pods = pod_names()
    with SearchLoop() as loop:
        time.sleep(3)
        helm(*upgrade_with("pantry-ci/rolled"), "--atomic")
        assert rolled_out()
        upgraded = history()[-1]
        assert upgraded["revision"] == before["revision"] + 1
        assert upgraded["status"] == "deployed"
        # Every Deployment has new pods: none of the old ones is left.
        assert not old_pods & pod_names()
        time.sleep(3)
        helm(
            "rollback",
            RELEASE,
            str(before["revision"]),
            "-n",
            NAMESPACE,
            "--wait",
            "--timeout",
            "10m",
        )
        until("rolled back", rolled_out, timeout=300)
        time.sleep(3)
    assert loop.failures == [], loop.failures[:10]
    assert loop.ok > 50
    last = history()[-1]
    assert last["revision"] == before["revision"] + 2
    assert last["status"] == "deployed"
    assert last["description"] == f"Rollback to {before['revision']}"
    for deployment in deployments():
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        assert "pantry-ci/rolled" not in annotations


SLOW_PAGE = """
import http.server, sys, time
page = open("/page/recipe.html", "rb").read()
served = 0
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global served
        served += 1
        print("request", served, self.path, flush=True)
        if served == 1:
            time.sleep(8)  # the engine is killed while it waits for this one
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", 8080), Handler).serve_forever()
"""


@pytest.fixture
def slow_page() -> Iterator[str]:
    """A recipe page in the cluster (no internet here) whose first answer takes 8 s."""
    namespace = f"pantry-ci-pages-{uuid.uuid4().hex[:6]}"
    kubectl(
        "apply",
        "-f",
        "-",
        stdin=kubectl("create", "namespace", namespace, "--dry-run=client", "-o", "yaml"),
    )
    kubectl(
        "-n",
        namespace,
        "apply",
        "-f",
        "-",
        stdin=kubectl(
            "-n",
            namespace,
            "create",
            "configmap",
            "page",
            "--dry-run=client",
            "-o",
            "yaml",
            f"--from-file=recipe.html={REPO / 'tests' / 'data' / 'recipe-page.html'}",
        ),
    )
    manifest = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": "slow-page",
                    "namespace": namespace,
                    "labels": {"app": "slow-page"},
                },
                "spec": {
                    "containers": [
                        {
                            "name": "page",
                            "image": api_image(),
                            "command": ["python", "-c", SLOW_PAGE],
                            "ports": [{"containerPort": 8080}],
                            "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
                            "volumeMounts": [{"name": "page", "mountPath": "/page"}],
                            "securityContext": RESTRICTED,
                        }
                    ],
                    "volumes": [{"name": "page", "configMap": {"name": "page"}}],
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "slow-page", "namespace": namespace},
                "spec": {"selector": {"app": "slow-page"}, "ports": [{"port": 8080}]},
            },
        ],
    }
    kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
    kubectl("-n", namespace, "wait", "--for=condition=Ready", "pod/slow-page", "--timeout=120s")
    until(
        "kube-proxy routes the page's Service", lambda: service_programmed(namespace, "slow-page")
    )
    try:
        yield namespace
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")


def page_requests(namespace: str) -> list[str]:
    logs = kubectl("-n", namespace, "logs", "slow-page")
    return [line for line in logs.splitlines() if line.startswith("request")]


def test_an_engine_pod_killed_mid_import_is_replaced_and_the_work_done_once(
    slow_page: str,
) -> None:
    url = f"http://slow-page.{slow_page}.svc.cluster.local:8080/recipe.html"
    selector = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=recipe-engine"
    (engine,) = [p["metadata"]["name"] for p in pods(selector=selector) if ready(p)]
    with httpx.Client(timeout=20) as client:
        accepted = client.post(f"{INGRESS}/api/v1/recipes/import", json={"url": url})
        assert accepted.status_code == 202, accepted.text
        status_url = INGRESS + accepted.json()["status_url"]
        until(
            "the engine asks for the page",
            lambda: len(page_requests(slow_page)) >= 1,
            timeout=60,
            every=0.2,
        )
        kubectl("-n", NAMESPACE, "delete", "pod", engine, "--grace-period=0", "--force")
        replacement = until(
            "a new engine pod is Ready",
            lambda: [
                p["metadata"]["name"]
                for p in pods(selector=selector)
                if ready(p) and p["metadata"]["name"] != engine
            ],
            timeout=180,
        )
        assert engine not in replacement
        job = until(
            "the import is done",
            lambda: (lambda body: body if body["status"] in ("done", "failed") else None)(
                client.get(status_url).json()
            ),
            timeout=180,
        )
        assert job["status"] == "done", job
        assert len(page_requests(slow_page)) == 2  # asked again by the new pod, and only then
        found = client.get(SEARCH, params={"q": "smoky lentil stew"}).json()
        titles = [r["title"] for r in found["results"]]
        assert titles.count("Smoky Lentil Stew") == 1, titles


def test_a_release_left_pending_by_a_killed_helm_is_explained_on_the_next_run(
    tmp_path: Path,
) -> None:
    before = history()[-1]
    upgrade = subprocess.Popen(
        [HELM, "--kube-context", CONTEXT, *upgrade_with("pantry-ci/killed")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        until(
            "helm marks the upgrade pending",
            lambda: history()[-1]["status"].startswith("pending-"),
            timeout=120,
            every=0.2,
        )
    finally:
        upgrade.send_signal(signal.SIGKILL)
        upgrade.wait()
    assert history()[-1]["status"] == "pending-upgrade"

    env = {**os.environ, "PANTRY_CLUSTER": "kind", "TMPDIR": str(tmp_path)}

    def dev_app() -> subprocess.CompletedProcess[str]:
        """`scripts/dev.sh app`: the release step of make dev, as a user runs it."""
        return subprocess.run(
            ["bash", str(REPO / "scripts" / "dev.sh"), "app"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    again = dev_app()
    assert again.returncode != 0
    assert "is pending-upgrade" in again.stderr, again.stderr
    command = re.search(r"helm --kube-context \S+ rollback \S+ (\d+) -n \S+", again.stderr)
    assert command, again.stderr
    assert int(command.group(1)) == before["revision"]
    # Its temporary files, credentials among them, are gone although it failed.
    assert list(tmp_path.iterdir()) == []

    helm("rollback", RELEASE, command.group(1), "-n", NAMESPACE, "--wait", "--timeout", "10m")
    assert history()[-1]["status"] == "deployed"
    until("rolled back", rolled_out, timeout=300)
    fixed = dev_app()
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert "Pantry Chef is up" in fixed.stdout
    # make cluster-test's install is the signed package, verified by helm on install.
    assert f"installing the signed package {signed_package()[0].name}, verified" in fixed.stdout
    assert list(tmp_path.iterdir()) == []
