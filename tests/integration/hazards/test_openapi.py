"""Schemathesis over the hazards API (tests/support/openapi_fuzz.py): no 5xx, only documented statuses."""

from hazards.bootstrap import build_app
from tests.support import openapi_fuzz


def test_every_operation_answers_no_5xx_and_only_documented_statuses(hazards_settings, token):
    openapi_fuzz.assert_every_answer_is_documented_and_no_5xx(build_app(hazards_settings), token())
