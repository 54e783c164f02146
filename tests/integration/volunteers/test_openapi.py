"""Schemathesis over the volunteers API (tests/support/openapi_fuzz.py): no 5xx, only documented statuses."""

from tests.support import openapi_fuzz
from volunteers.bootstrap import build_app


def test_every_operation_answers_no_5xx_and_only_documented_statuses(volunteers_settings, token):
    openapi_fuzz.assert_every_answer_is_documented_and_no_5xx(build_app(volunteers_settings), token())
