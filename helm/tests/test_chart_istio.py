"""The Istio ingress: the causes of "requests through the gateway hang" that a chart can have.

- the Gateway's selector does not match the gateway pods' labels (the istio/gateway chart
  installed as release `istio-ingress` labels them `istio: ingress`, not `istio: ingressgateway`);
- the VirtualService is not bound to that Gateway, or answers for other hosts;
- a route points at a wrong host or port, or at a Service port whose protocol Istio cannot tell;
- a stream route has a timeout (SSE cut after N seconds) or a zero timeout that the CRD refuses.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from chart_render import NAMESPACE, RELEASE, REPO, SCENARIOS, Obj, of_kind, one, render

API = f"{RELEASE}-api.{NAMESPACE}.svc.cluster.local"
REALTIME = f"{RELEASE}-realtime.{NAMESPACE}.svc.cluster.local"


@pytest.fixture(scope="module", params=["local", "production"])
def meshed(request: pytest.FixtureRequest) -> list[Obj]:
    return render(*SCENARIOS[str(request.param)])


def gateway_release_in_dev_script() -> str:
    text = (REPO / "scripts" / "dev.sh").read_text()
    match = re.search(r"(?:hm|helm) upgrade --install (\S+) gateway\b", text)
    assert match, "scripts/dev.sh does not install the istio/gateway chart"
    return match.group(1)


def test_gateway_selector_matches_the_installed_gateway(meshed: list[Obj]) -> None:
    (gateway,) = of_kind(meshed, "Gateway")
    # The istio/gateway chart labels its pods `istio: <release name without "istio-">`.
    release = gateway_release_in_dev_script()
    assert release == "istio-ingress"
    assert gateway["spec"]["selector"] == {"istio": release.removeprefix("istio-")}
    (server,) = gateway["spec"]["servers"]
    assert server["port"] == {"number": 80, "name": "http", "protocol": "HTTP"}


def test_network_policy_admits_the_same_gateway(meshed: list[Obj]) -> None:
    (gateway,) = of_kind(meshed, "Gateway")
    policy = one(meshed, "NetworkPolicy", f"{RELEASE}-api")
    peers = [
        p for rule in policy["spec"]["ingress"] for p in rule["from"] if "namespaceSelector" in p
    ]
    assert peers[0]["podSelector"]["matchLabels"] == gateway["spec"]["selector"]
    assert "istio-ingress" in Path(REPO / "scripts" / "dev.sh").read_text()


def test_virtual_service_is_bound_to_the_gateway(meshed: list[Obj]) -> None:
    (gateway,) = of_kind(meshed, "Gateway")
    (vs,) = of_kind(meshed, "VirtualService")
    name = gateway["metadata"]
    assert vs["spec"]["gateways"] == [f"{name['namespace']}/{name['name']}"]
    assert vs["spec"]["hosts"] == gateway["spec"]["servers"][0]["hosts"]


def routes(objects: list[Obj]) -> dict[str, Obj]:
    (vs,) = of_kind(objects, "VirtualService")
    return {r["name"]: r for r in vs["spec"]["http"]}


def destination(route: Obj) -> tuple[str, int]:
    (target,) = route["route"]
    return target["destination"]["host"], target["destination"]["port"]["number"]


def test_routes(meshed: list[Obj]) -> None:
    r = routes(meshed)
    assert list(r) == ["metrics", "events", "websocket", "api", "web"], (
        "order matters: first match wins"
    )
    assert destination(r["events"]) == (REALTIME, 8001)
    assert destination(r["websocket"]) == (REALTIME, 8001)
    assert destination(r["api"]) == (API, 8000)
    assert destination(r["web"]) == (API, 8000)
    prefixes = {
        name: [m["uri"].get("prefix") or m["uri"].get("exact") for m in route["match"]]
        for name, route in r.items()
    }
    assert prefixes == {
        "metrics": ["/metrics"],
        "events": ["/events", "/events/"],
        "websocket": ["/ws", "/ws/"],
        "api": ["/api"],
        "web": ["/"],
    }
    assert r["metrics"]["directResponse"]["status"] == 404


def test_streams_have_no_timeout_and_no_buffering(meshed: list[Obj]) -> None:
    r = routes(meshed)
    for name in ("events", "websocket"):
        assert "timeout" not in r[name], f"{name}: a route timeout would cut the stream"
        assert "perTryTimeout" not in r[name].get("retries", {}), name
        assert "mirror" not in r[name] and "fault" not in r[name], name
    assert r["events"]["headers"]["response"]["set"]["X-Accel-Buffering"] == "no"
    for name in ("api", "web"):
        assert r[name]["timeout"] == "30s"


def test_routes_reach_services_the_chart_makes(meshed: list[Obj]) -> None:
    services = {
        f"{s['metadata']['name']}.{NAMESPACE}.svc.cluster.local": s["spec"]["ports"][0]
        for s in of_kind(meshed, "Service")
    }
    for name, route in routes(meshed).items():
        if "route" not in route:
            continue
        host, port = destination(route)
        assert host in services, name
        assert services[host]["port"] == port, name
        assert services[host]["name"].startswith("http"), "Istio needs the protocol in the name"


def test_destination_rules(meshed: list[Obj]) -> None:
    services = {
        f"{s['metadata']['name']}.{NAMESPACE}.svc.cluster.local" for s in of_kind(meshed, "Service")
    }
    rules = {
        d["spec"]["host"]: d["spec"]["trafficPolicy"] for d in of_kind(meshed, "DestinationRule")
    }
    assert set(rules) == services
    for policy in rules.values():
        assert policy["tls"]["mode"] == "ISTIO_MUTUAL"
        outlier = policy["outlierDetection"]
        # Eject a pod for connection failures only: a 503 from /ready or a search while
        # PostgreSQL is down is an answer, not a broken pod.
        assert outlier["splitExternalLocalOriginErrors"] is True
        assert "consecutive5xxErrors" not in outlier and "consecutiveGatewayErrors" not in outlier
        assert policy["connectionPool"]["tcp"]["connectTimeout"]
    assert rules[REALTIME]["connectionPool"]["http"]["h2UpgradePolicy"] == "DO_NOT_UPGRADE"


def test_mtls_and_authorization(meshed: list[Obj]) -> None:
    (peer,) = of_kind(meshed, "PeerAuthentication")
    assert peer["spec"]["mtls"]["mode"] == "STRICT"
    assert peer["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"] == RELEASE
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind(meshed, "AuthorizationPolicy")}
    gateway = "cluster.local/ns/istio-ingress/sa/istio-ingress"
    for service in ("api", "realtime"):
        allow = policies[f"{RELEASE}-{service}"]
        assert allow["action"] == "ALLOW"
        sources = [s["source"] for rule in allow["rules"] for s in rule["from"]]
        assert {"principals": [gateway]} in sources
        assert {"namespaces": [NAMESPACE]} in sources
        deny = policies[f"{RELEASE}-{service}-deny-metrics"]
        assert deny["action"] == "DENY"
        assert "/metrics" in deny["rules"][0]["to"][0]["operation"]["paths"]
    engine = policies[f"{RELEASE}-recipe-engine"]
    sources = [s["source"] for rule in engine["rules"] for s in rule["from"]]
    assert sources == [{"namespaces": [NAMESPACE]}], "only the release's namespace calls the engine"


def test_existing_gateway_can_be_used() -> None:
    objects = render(
        *SCENARIOS["local"],
        "--set",
        "istio.gateway.create=false,istio.gateway.name=istio-ingress/shared",
    )
    assert not of_kind(objects, "Gateway")
    (vs,) = of_kind(objects, "VirtualService")
    assert vs["spec"]["gateways"] == ["istio-ingress/shared"]
