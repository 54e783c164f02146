"""Schemathesis over a service's OpenAPI, in-process: every operation gets generated requests
(valid and invalid, a fixed seed, a bounded number), and every answer must be no 5xx and a status
code the operation documents. Failures are collected, not shrunk: a run takes bounded time, and
its report lists each operation's problem once."""

from __future__ import annotations

import collections

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

# Every answer: no 5xx, a status the operation documents, and a body its documented schema accepts.
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def load(app) -> schemathesis.BaseSchema:
    """The app's schema; loading it starts the app's lifespan in schemathesis' own event loop
    thread (stopped by `stop_apps`)."""
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def stop_apps() -> None:
    asgi.shutdown_lifespans()


def fuzz(schema, headers: dict[str, str], *, max_examples: int = 20) -> list[str]:
    """One line per (operation, status, check) that failed, with the request that showed it."""
    failures: dict[tuple[str, int, str], str] = {}
    answered: collections.Counter = collections.Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def run(case) -> None:
                response = case.call(headers=headers)
                answered[response.status_code] += 1
                try:
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except (Failure, FailureGroup) as exc:
                    for failure in exc.exceptions if isinstance(exc, FailureGroup) else [exc]:
                        key = (operation.label, response.status_code, failure.title)
                        failures.setdefault(key, f"{operation.label} answered {response.status_code} ({failure.title})"
                                                 f" to {case.as_curl_command()[:160]}")

            try:
                run()
            except Unsatisfiable:  # nothing about the operation can be invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE, operation.label
    print(f"answers by status: {dict(sorted(answered.items()))}")  # shown with -s, and on failure
    return sorted(failures.values())


def assert_every_answer_is_documented_and_no_5xx(app, headers: dict[str, str]) -> None:
    """The whole check for one service's app: its lifespan started and stopped around the run."""
    schema = load(app)
    try:
        failures = fuzz(schema, headers)
    finally:
        stop_apps()
    assert not failures, "\n".join(failures)
