"""Schemathesis over the alarms API (tests/support/openapi_fuzz.py): no 5xx, only documented statuses."""

from alarms.bootstrap import build_app
from tests.support import openapi_fuzz


def test_every_operation_answers_no_5xx_and_only_documented_statuses(alarms_settings, token):
    schema = openapi_fuzz.load(build_app(alarms_settings))
    try:
        failures = openapi_fuzz.fuzz(schema, token())
    finally:
        openapi_fuzz.stop_apps()
    assert not failures, "\n".join(failures)
