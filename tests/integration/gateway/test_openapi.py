"""Schemathesis over the gateway's HTTP API (tests/support/openapi_fuzz.py): no 5xx, only
documented statuses; a stream it opens is cut short by schemathesis after a few events."""

from gateway.bootstrap import build_app
from tests.support import openapi_fuzz


def test_every_operation_answers_no_5xx_and_only_documented_statuses(settings, token, city):
    headers = {"Authorization": "Bearer " + token(jurisdiction=[city.city.code])}
    openapi_fuzz.assert_every_answer_is_documented_and_no_5xx(build_app(settings), headers)
