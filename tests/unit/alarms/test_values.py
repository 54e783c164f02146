"""The alarm domain's small rules (alarms/domain/values.py)."""

import datetime as dt

import pytest

from alarms.domain.values import CLOCK_SKEW, TimeInTheFuture, refuse_future, scrub_personal_numbers

NOW = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("at", [NOW - dt.timedelta(days=2), NOW, NOW + CLOCK_SKEW])
def test_a_time_up_to_the_allowed_skew_ahead_is_taken_as_given(at):
    assert refuse_future(at, NOW, "received_at") == at


def test_a_time_past_the_skew_is_refused_naming_the_field():
    with pytest.raises(TimeInTheFuture, match="sent 2099-01-01"):
        refuse_future(dt.datetime(2099, 1, 1, tzinfo=dt.UTC), NOW, "sent")
    assert TimeInTheFuture.status == 422 and TimeInTheFuture.type_slug == "received-in-the-future"


@pytest.mark.parametrize("text, scrubbed", [
    ("厨房起火，回电13812345678", "厨房起火，回电*******5678"),
    ("电话 0571-8765 4321 王先生", "电话 ********4321 王先生"),
    ("报警人身份证33010519800101123X", "报警人身份证**************123X"),
    ("+86 138 1234 5678 楼下", "*********5678 楼下"),
    ("3幢1502室，2026年起火，共12人", "3幢1502室，2026年起火，共12人"),  # rooms, years, counts stay
    ("3号楼 12-2-1203室，2024-05-01 14:30起火", "3号楼 12-2-1203室，2024-05-01 14:30起火"),  # what dispatch needs
    ("tel13812345678", "tel*******5678"),  # letters around a number do not hide it
])
def test_phone_and_id_numbers_in_free_text_show_at_most_their_last_four_digits(text, scrubbed):
    assert scrub_personal_numbers(text) == scrubbed
