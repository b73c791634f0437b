"""Rules for every workload the chart renders: probes, security context, resources, images,
configuration through a ConfigMap and secrets through references."""

from __future__ import annotations

import re

from chart_render import (
    NAMESPACE,
    RELEASE,
    REPO,
    SCENARIOS,
    TEST_TAG,
    Obj,
    containers,
    of_kind,
    one,
    pod_specs,
    render,
)

SERVICES = {"api": 8000, "recipe-engine": 8002, "realtime": 8001}
PROBE_PATHS = {
    # The api's readiness is its process, not PostgreSQL: a database outage must not take every
    # replica out of the Service (cached answers are still served, the rest get a JSON 503).
    "api": ("/api/v1/health", "/api/v1/health"),
    "recipe-engine": ("/health", "/ready"),
    "realtime": ("/health", "/ready"),
}


def test_three_deployments(objects: list[Obj]) -> None:
    names = sorted(d["metadata"]["name"] for d in of_kind(objects, "Deployment"))
    assert names == sorted(f"{RELEASE}-{s}" for s in SERVICES)


def test_probes_on_every_container_on_the_real_endpoints(objects: list[Obj]) -> None:
    for deployment in of_kind(objects, "Deployment"):
        service = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        spec = deployment["spec"]["template"]["spec"]
        for container in spec["containers"]:
            where = f"{deployment['metadata']['name']}/{container['name']}"
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                assert probe in container, f"{where} has no {probe}"
                assert container[probe]["httpGet"]["port"] == "http", where
            live, ready = PROBE_PATHS[service]
            assert container["livenessProbe"]["httpGet"]["path"] == live, where
            assert container["startupProbe"]["httpGet"]["path"] == live, where
            assert container["readinessProbe"]["httpGet"]["path"] == ready, where
            # The startup probe gives a slow start time without a slow liveness probe.
            startup = container["startupProbe"]
            assert startup["periodSeconds"] * startup["failureThreshold"] >= 30, where
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert ports == {"http": SERVICES[service]}, where


def test_pod_security_context(objects: list[Obj]) -> None:
    for where, spec in pod_specs(objects):
        context = spec["securityContext"]
        assert context["runAsNonRoot"] is True, where
        assert isinstance(context["runAsUser"], int) and context["runAsUser"] > 0, where
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert spec["automountServiceAccountToken"] is False, where


def test_container_security_context(objects: list[Obj]) -> None:
    for where, container in containers(objects):
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True, where
        assert isinstance(context["runAsUser"], int) and context["runAsUser"] > 0, where
        assert context["readOnlyRootFilesystem"] is True, where
        assert context["allowPrivilegeEscalation"] is False, where
        assert context.get("privileged", False) is False, where
        assert context["capabilities"]["drop"] == ["ALL"], where
        assert "add" not in context["capabilities"], where
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where


def test_tmp_is_an_empty_dir(objects: list[Obj]) -> None:
    """A read-only root filesystem, and /tmp the only writable place (Deployments and Jobs)."""
    for where, spec in pod_specs(objects):
        if where.startswith("Pod/"):
            continue  # the test pod writes nothing
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in spec["containers"]:
            mounts = {
                m["mountPath"]: m["name"]
                for m in container.get("volumeMounts", [])
                if not m.get("readOnly")
            }
            assert "/tmp" in mounts, f"{where}/{container['name']} has no /tmp"
            assert "emptyDir" in volumes[mounts["/tmp"]], where
            assert set(mounts) == {"/tmp"}, f"{where}: unexpected writable mounts {mounts}"


def test_resources(objects: list[Obj]) -> None:
    for where, container in containers(objects):
        resources = container["resources"]
        assert resources["requests"]["cpu"] and resources["requests"]["memory"], where
        assert resources["limits"]["memory"], where


def test_images_are_tagged_never_latest(objects: list[Obj]) -> None:
    for where, container in containers(objects):
        image = container["image"]
        name, _, tag = image.rpartition(":")
        assert name and "/" not in tag, f"{where}: {image} has no tag"
        assert tag != "latest", f"{where}: {image}"


def test_local_and_production_use_the_revision_tag() -> None:
    """Our images carry the git revision; the one third-party image (the Cloud SQL Auth Proxy,
    production) its pinned release."""
    for scenario in ("local", "production"):
        for where, container in containers(render(*SCENARIOS[scenario])):
            if where.endswith("/cloud-sql-proxy"):
                assert re.search(r":\d+\.\d+\.\d+$", container["image"]), where
                continue
            assert container["image"].endswith(f":{TEST_TAG}"), f"{scenario} {where}"
    local = render(*SCENARIOS["local"])
    for where, container in containers(local):
        assert container["image"].startswith("pantry-registry.localhost:5000/pantry-chef/"), where


def test_configuration_through_a_config_map(objects: list[Obj]) -> None:
    for deployment in of_kind(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["envFrom"] == [{"configMapRef": {"name": name}}]
        config_map = one(objects, "ConfigMap", name)
        prefix = {
            "pantry-chef-api": "API",
            "pantry-chef-recipe-engine": "ENGINE",
            "pantry-chef-realtime": "REALTIME",
        }[name]
        assert config_map["data"][f"PANTRY_{prefix}_HOST"] == "0.0.0.0"
        assert "PANTRY_ENVIRONMENT" in config_map["data"]
        # A configuration change rolls the pods.
        assert "checksum/config" in deployment["spec"]["template"]["metadata"]["annotations"]


SECRET_VARIABLES = {"PANTRY_DATABASE_URL", "PANTRY_REDIS_URL", "PANTRY_RABBITMQ_URL"}


def test_secrets_only_by_reference(objects: list[Obj]) -> None:
    """The URLs (with passwords) come from an existing Secret; the chart makes no Secret and
    writes no password anywhere."""
    assert not of_kind(objects, "Secret")
    for config_map in of_kind(objects, "ConfigMap"):
        assert not SECRET_VARIABLES & set(config_map["data"]), config_map["metadata"]["name"]
    for where, container in containers(objects):
        if where.endswith("/cloud-sql-proxy"):
            # The Cloud SQL Auth Proxy reads nothing from the Secret: it logs in with the
            # pod's Workload Identity.
            assert "env" not in container and "envFrom" not in container, where
            continue
        if where.startswith("Pod/"):
            continue
        env = {e["name"]: e for e in container.get("env", [])}
        for name in SECRET_VARIABLES:
            ref = env[name]["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "pantry-chef-secrets", where
            key = name.removeprefix("PANTRY_").lower().replace("_", "-")
            # production.yaml gives the engine a database URL of its own (its IAM user).
            assert ref["key"] in (key, f"engine-{key}" if "recipe-engine" in where else key), where
            assert "value" not in env[name], where
    text = "\n".join(str(o) for o in objects)
    assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", text), "a URL with a password was rendered"


def test_themealdb_key_is_an_optional_secret(objects: list[Obj]) -> None:
    engine = one(objects, "Deployment", f"{RELEASE}-recipe-engine")
    env = {e["name"]: e for e in engine["spec"]["template"]["spec"]["containers"][0]["env"]}
    ref = env["PANTRY_ENGINE_THEMEALDB_KEY"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "pantry-chef-secrets", "key": "themealdb-key", "optional": True}


def test_engine_drains_on_sigterm(objects: list[Obj]) -> None:
    engine = one(objects, "Deployment", f"{RELEASE}-recipe-engine")
    assert engine["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 60


def test_services_name_their_port_http_for_istio(objects: list[Obj]) -> None:
    services = of_kind(objects, "Service")
    assert sorted(s["metadata"]["name"] for s in services) == sorted(
        f"{RELEASE}-{s}" for s in SERVICES
    )
    for service in services:
        component = service["metadata"]["labels"]["app.kubernetes.io/component"]
        (port,) = service["spec"]["ports"]
        assert port["name"] == "http" and port["appProtocol"] == "http"
        assert port["port"] == SERVICES[component] and port["targetPort"] == "http"
        assert service["spec"]["selector"]["app.kubernetes.io/component"] == component


def test_service_accounts(objects: list[Obj]) -> None:
    for deployment in of_kind(objects, "Deployment"):
        name = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        account = one(objects, "ServiceAccount", name)
        assert account["automountServiceAccountToken"] is False


def test_production_has_workload_identity_and_no_in_cluster_databases() -> None:
    objects = render(*SCENARIOS["production"])
    for component in SERVICES:
        account = one(objects, "ServiceAccount", f"{RELEASE}-{component}")
        gsa = account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
        assert gsa.endswith(".iam.gserviceaccount.com")
    assert not of_kind(objects, "StatefulSet")
    for _, container in containers(objects):
        assert "bitnami" not in container["image"]
    for deployment in of_kind(objects, "Deployment"):
        assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(objects, "HorizontalPodAutoscaler")
    }
    assert set(hpas) == {f"{RELEASE}-{s}" for s in SERVICES}
    assert all(h["spec"]["minReplicas"] >= 2 for h in hpas.values())
    for config_map in of_kind(objects, "ConfigMap"):
        assert config_map["data"]["PANTRY_ENVIRONMENT"] == "production"
    api = one(objects, "ConfigMap", f"{RELEASE}-api")
    assert api["data"]["PANTRY_API_IMPORT_ALLOW_PRIVATE"] == "false"


#: Kinds without a namespace (the dev overlay's PersistentVolume).
CLUSTER_SCOPED = {"PersistentVolume"}


def test_namespace_is_the_release_namespace(objects: list[Obj]) -> None:
    for obj in objects:
        if obj["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in obj["metadata"], obj["metadata"]["name"]
            assert obj["metadata"]["name"].startswith(f"{NAMESPACE}-"), obj["metadata"]["name"]
            continue
        assert obj["metadata"]["namespace"] == NAMESPACE, obj["metadata"]["name"]


PACKAGES = {
    "api": REPO / "services" / "api" / "pantry_api",
    "recipe-engine": REPO / "services" / "recipe-engine" / "pantry_engine",
    "realtime": REPO / "services" / "realtime" / "pantry_realtime",
}


def _served_paths(service: str) -> set[str]:
    """The paths each service's ASGI application routes, as it builds them (no server runs)."""
    if service == "api":
        from pantry_api.app import create_app as api_app

        routes = api_app().fastapi.routes
    elif service == "realtime":
        from pantry_realtime.app import create_app as realtime_app

        routes = realtime_app().routes
    else:
        from pantry_engine.http import health_app

        routes = health_app(None, None, lambda: True).routes
    return {str(getattr(route, "path", "")) for route in routes}


def test_probed_and_routed_paths_exist_in_the_services() -> None:
    """The probes and the ingress routes name paths the services' applications route."""
    paths = {service: set(PROBE_PATHS[service]) for service in SERVICES}
    paths["realtime"] |= {"/events", "/ws"}
    for service, wanted in paths.items():
        assert (PACKAGES[service] / "__main__.py").exists(), f"python -m {PACKAGES[service].name}"
        served = _served_paths(service)
        missing = wanted - served
        assert not missing, f"{service}: no route {sorted(missing)} among {sorted(served)}"
