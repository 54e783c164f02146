"""Schemathesis over the alarms API (tests/support/openapi_fuzz.py): no 5xx, only documented statuses."""

from alarms.bootstrap import build_app
from tests.support import openapi_fuzz


def test_every_operation_answers_no_5xx_and_only_documented_statuses(alarms_settings, token):
    openapi_fuzz.assert_every_answer_is_documented_and_no_5xx(build_app(alarms_settings), token())
