"""Schemathesis over the gateway's HTTP API (tests/support/openapi_fuzz.py): no 5xx, only
documented statuses; a stream it opens is cut short by schemathesis after a few events."""

from gateway.bootstrap import build_app
from tests.support import openapi_fuzz


def test_every_operation_answers_no_5xx_and_only_documented_statuses(settings, token, city):
    schema = openapi_fuzz.load(build_app(settings))
    try:
        failures = openapi_fuzz.fuzz(schema, {"Authorization": "Bearer " + token(jurisdiction=[city.city.code])})
    finally:
        openapi_fuzz.stop_apps()
    assert not failures, "\n".join(failures)
