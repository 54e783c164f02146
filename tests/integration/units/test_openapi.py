"""Schemathesis over the units API (tests/support/openapi_fuzz.py): no 5xx, only documented statuses."""

from tests.support import openapi_fuzz
from units.bootstrap import build_app


def test_every_operation_answers_no_5xx_and_only_documented_statuses(units_settings, token):
    openapi_fuzz.assert_every_answer_is_documented_and_no_5xx(build_app(units_settings), token())
