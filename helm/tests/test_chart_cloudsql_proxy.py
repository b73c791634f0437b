"""The Cloud SQL Auth Proxy as a native sidecar (production.yaml): the api, the engine and the
migration Job reach Cloud SQL through it with IAM database authentication; realtime has none."""

from __future__ import annotations

from chart_render import (
    RELEASE,
    SCENARIOS,
    TEST_PROJECT,
    TEST_SQL_INSTANCE,
    VALUES,
    Obj,
    one,
    render,
    render_error,
)


def pod_spec(objects: list[Obj], kind: str, name: str) -> Obj:
    spec: Obj = one(objects, kind, name)["spec"]["template"]["spec"]
    return spec


def proxies(spec: Obj) -> list[Obj]:
    every = spec.get("initContainers", []) + spec["containers"]
    return [c for c in every if c["name"] == "cloud-sql-proxy"]


def test_the_services_that_use_the_database_have_the_proxy() -> None:
    objects = render(*SCENARIOS["production"])
    for name in (f"{RELEASE}-api", f"{RELEASE}-recipe-engine"):
        (proxy,) = proxies(pod_spec(objects, "Deployment", name))
        assert "--auto-iam-authn" in proxy["args"] and "--private-ip" in proxy["args"]
        assert proxy["args"][-1] == TEST_SQL_INSTANCE
        assert "--address=127.0.0.1" in proxy["args"], "the proxy must not listen beyond the pod"
    assert not proxies(pod_spec(objects, "Deployment", f"{RELEASE}-realtime"))


def test_the_migration_jobs_proxy_is_a_native_sidecar() -> None:
    """A proxy among the Job's containers would run for ever and the Job never complete: it must
    be an init container with restartPolicy Always, which the kubelet stops after the app."""
    objects = render(*SCENARIOS["production"])
    spec = pod_spec(objects, "Job", f"{RELEASE}-migrations-migrate")
    assert spec["restartPolicy"] == "Never"
    assert [c["name"] for c in spec["containers"]] == ["migrate"]
    (proxy,) = [c for c in spec.get("initContainers", []) if c["name"] == "cloud-sql-proxy"]
    assert proxy["restartPolicy"] == "Always"
    # The migration starts only once the proxy listens.
    assert proxy["startupProbe"]["httpGet"]["path"] == "/startup"
    # It logs in as the api's Google service account (the schema's owner).
    account = one(objects, "ServiceAccount", spec["serviceAccountName"])
    assert account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"] == (
        f"pantry-api@{TEST_PROJECT}.iam.gserviceaccount.com"
    )


def test_the_proxy_runs_locked_down() -> None:
    objects = render(*SCENARIOS["production"])
    (proxy,) = proxies(pod_spec(objects, "Deployment", f"{RELEASE}-api"))
    context = proxy["securityContext"]
    assert context["runAsNonRoot"] is True and context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert not proxy["image"].endswith(":latest") and ":" in proxy["image"]
    assert proxy["resources"]["limits"]["memory"]


def test_production_without_the_instance_fails_naming_it() -> None:
    error = render_error(
        "-f",
        str(VALUES / "production.yaml"),
        "--set",
        "image.tag=0123456789ab",
        "--set",
        f"workloadIdentity.projectId={TEST_PROJECT}",
    )
    assert "cloudSqlProxy.instanceConnectionName is required" in error


def test_off_outside_gke() -> None:
    for scenario in ("default", "local"):
        objects = render(*SCENARIOS[scenario])
        for o in objects:
            if o["kind"] in ("Deployment", "Job"):
                assert not proxies(o["spec"]["template"]["spec"]), o["metadata"]["name"]


def database_url_keys(objects: list[Obj], kind: str, name: str) -> list[str]:
    (container,) = pod_spec(objects, kind, name)["containers"]
    found = [e for e in container["env"] if e["name"] == "PANTRY_DATABASE_URL"]
    return [e["valueFrom"]["secretKeyRef"]["key"] for e in found]


def test_each_service_logs_in_as_its_own_database_user() -> None:
    """With --auto-iam-authn the URL's user must be the pod's own IAM user: the engine reads a
    URL of its own (once: its entry replaces the shared one), the api and the migrations the
    api's."""
    objects = render(*SCENARIOS["production"])
    assert database_url_keys(objects, "Deployment", f"{RELEASE}-api") == ["database-url"]
    assert database_url_keys(objects, "Job", f"{RELEASE}-migrations-migrate") == ["database-url"]
    assert database_url_keys(objects, "Deployment", f"{RELEASE}-recipe-engine") == [
        "engine-database-url"
    ]
    local = render(*SCENARIOS["local"])
    assert database_url_keys(local, "Deployment", f"{RELEASE}-recipe-engine") == ["database-url"]
