"""GKE Workload Identity through values: one ServiceAccount per service, each annotated with its
own Google service account, the project a required value (helm/values/production.yaml)."""

from __future__ import annotations

from chart_render import (
    RELEASE,
    SCENARIOS,
    TEST_PROJECT,
    TEST_SQL_INSTANCE,
    VALUES,
    of_kind,
    one,
    pod_specs,
    render,
    render_error,
)

ANNOTATION = "iam.gke.io/gcp-service-account"


def test_production_runs_each_service_as_its_own_google_account() -> None:
    objects = render(*SCENARIOS["production"])
    expected = {
        f"{RELEASE}-api": f"pantry-api@{TEST_PROJECT}.iam.gserviceaccount.com",
        f"{RELEASE}-recipe-engine": f"pantry-engine@{TEST_PROJECT}.iam.gserviceaccount.com",
        f"{RELEASE}-realtime": f"pantry-realtime@{TEST_PROJECT}.iam.gserviceaccount.com",
        # The migration Job logs in to the database as the api's IAM user: the schema's owner.
        f"{RELEASE}-migrations": f"pantry-api@{TEST_PROJECT}.iam.gserviceaccount.com",
    }
    found = {
        a["metadata"]["name"]: a["metadata"]["annotations"][ANNOTATION]
        for a in of_kind(objects, "ServiceAccount")
    }
    assert found == expected
    # Each workload runs as its own ServiceAccount, none as `default`.
    for label, spec in pod_specs(objects):
        if label.startswith("Pod/"):  # the `helm test` pod calls the health endpoints only
            continue
        assert spec["serviceAccountName"] in expected, label


def test_a_service_can_name_another_google_account() -> None:
    objects = render(
        *SCENARIOS["production"], "--set", "realtime.serviceAccount.gcpServiceAccount=rt"
    )
    account = one(objects, "ServiceAccount", f"{RELEASE}-realtime")
    assert (
        account["metadata"]["annotations"][ANNOTATION]
        == f"rt@{TEST_PROJECT}.iam.gserviceaccount.com"
    )


def test_production_without_the_project_fails_naming_it() -> None:
    error = render_error(
        "-f",
        str(VALUES / "production.yaml"),
        "--set",
        "image.tag=0123456789ab",
        "--set",
        f"cloudSqlProxy.instanceConnectionName={TEST_SQL_INSTANCE}",
    )
    assert "workloadIdentity.projectId is required" in error


def test_off_outside_gke() -> None:
    for scenario in ("default", "local"):
        for account in of_kind(render(*SCENARIOS[scenario]), "ServiceAccount"):
            assert ANNOTATION not in (account["metadata"].get("annotations") or {}), scenario
