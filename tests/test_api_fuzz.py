"""The api's contract, fuzzed: Schemathesis, with all its checks, against the OpenAPI document
that the running api serves, over real HTTP.

The api runs as the other tests run it (`api_server`: uvicorn in this event loop, over a seeded
database of its own, real Redis, and a RabbitMQ virtual host of its own that takes the refresh
requests and imports it accepts). Schemathesis is synchronous: its engine (the one `st run`
drives, with every phase: examples, coverage, fuzzing, stateful) runs in a worker thread while
the loop serves.

Every check is on (not_a_server_error, status_code_conformance, content_type_conformance,
response_headers_conformance, response_schema_conformance, positive_data_acceptance,
negative_data_rejection, missing_required_header, unsupported_method, allow_header_conformance,
use_after_free, ensure_resource_availability, ignored_auth, object_level_authorization) and
none is turned off for any operation. Two settings of the api differ from production, both for
reasons outside the document: import URLs are not resolved (below), and the rate limits are
the tests' (`TEST_LIMITS`, far above the run's rate; a 429 is documented all the same).

Run time is kept for CI (about a minute, some 600 requests): a bounded number of examples per
operation and phase, a fixed seed and Hypothesis' derandomised generation, so that a run makes
the same requests each time (the answers can still differ: a repeated search is a cache hit).
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import orjson
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.engine import events, from_schema
from schemathesis.specs.openapi.formats import unregister_string_format

from pantry_api.settings import ApiSettings

from .conftest import TEST_LIMITS, api_server, settings_for
from .servers import ServerUrls

pytestmark = pytest.mark.integration

SEED = 20261202
#: Per operation and phase.
MAX_EXAMPLES = 40

#: As a `schemathesis.toml` would say it (`st run --config-file` reads the same keys).
CONFIG = """
seed = {seed}
max-failures = 50

[cache]
# Nothing carried over from an earlier run: the same requests every time.
enabled = false

[generation]
max-examples = {examples}
deterministic = true
database = "none"

[checks]
# Every check Schemathesis has is on unless a line below turns one off (none does).
"""

#: What the run may take at most (it takes about a minute on a 2-core machine).
TIMEOUT_SECONDS = 400


@dataclass
class Outcome:
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cases: Counter[str] = field(default_factory=Counter)
    checks: Counter[str] = field(default_factory=Counter)
    stop_reason: str = ""


def _cursor(offset: int) -> str:
    """A cursor as the api writes one (`next_cursor`)."""
    return base64.urlsafe_b64encode(orjson.dumps({"o": offset})).decode().rstrip("=")


@contextmanager
def cursor_format() -> Iterator[None]:
    """`cursor` is a token the api issues (`next_cursor`); base64 of JSON cannot be a pattern.
    Its format's values are the cursors the api can issue; made-up ones are a 422 (tested in
    test_api.py)."""
    schemathesis.openapi.format("cursor", st.integers(0, 1000).map(_cursor))
    try:
        yield
    finally:
        unregister_string_format("cursor")


def run_schemathesis(openapi_url: str) -> Outcome:
    # Another seed or more examples look further than CI does (PANTRY_FUZZ_SEED=7
    # PANTRY_FUZZ_EXAMPLES=200); CI keeps the defaults.
    config = schemathesis.Config.from_str(
        CONFIG.format(
            seed=int(os.environ.get("PANTRY_FUZZ_SEED", SEED)),
            examples=int(os.environ.get("PANTRY_FUZZ_EXAMPLES", MAX_EXAMPLES)),
        )
    )
    schema = schemathesis.openapi.from_url(openapi_url, config=config)
    outcome = Outcome()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for node in recorder.cases.values():
                outcome.cases[node.value.operation.label] += 1
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    outcome.checks[check.name] += 1
                    info = check.failure_info
                    if info is None:
                        continue
                    case = recorder.cases[case_id].value
                    outcome.failures.append(
                        f"{case.operation.label} [{check.name}] {info.failure.title}\n"
                        f"  {info.failure.message}\n  {info.code_sample}"
                    )
        elif isinstance(event, events.NonFatalError):
            outcome.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            outcome.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            outcome.stop_reason = str(event.stop_reason)
    return outcome


@pytest.mark.timeout(TIMEOUT_SECONDS + 60)
async def test_the_api_keeps_its_openapi_contract(
    database: str, servers: ServerUrls, vhost: str, capsys: pytest.CaptureFixture[str]
) -> None:
    common = settings_for(database, servers).model_copy(update={"rabbitmq_url": vhost})
    # Import URLs are not resolved: whether a host name resolves is the network's answer, not
    # the request's shape (the address checks have their own tests); a schema-valid URL is
    # accepted. The test limits are high enough that fuzzing is never throttled.
    settings = ApiSettings(
        startup_wait_seconds=0, access_log=False, import_allow_private=True, **TEST_LIMITS
    )
    started = time.monotonic()
    with cursor_format():
        async with api_server(common, settings) as client:
            url = f"{str(client.base_url).rstrip('/')}/api/openapi.json"
            outcome = await asyncio.wait_for(
                asyncio.to_thread(run_schemathesis, url), TIMEOUT_SECONDS
            )
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(  # noqa: T201 - the run's size, in the test log
            f"\nschemathesis: {sum(outcome.cases.values())} cases in {elapsed:.0f} s, "
            f"{dict(outcome.cases)}; checks {dict(outcome.checks)}; stop: {outcome.stop_reason}"
        )
    assert not outcome.errors, "\n\n".join(outcome.errors)
    assert not outcome.failures, "\n\n".join(sorted(set(outcome.failures)))
    assert outcome.stop_reason == "completed"
    assert {"positive_data_acceptance", "negative_data_rejection", "unsupported_method"} <= set(
        outcome.checks
    )
    assert set(outcome.cases) >= {
        "GET /api/v1/recipes/search",
        "POST /api/v1/recipes/import",
        "GET /api/v1/recipes/import/{job_id}",
        "GET /api/v1/recipes/{recipe_id}",
    }
