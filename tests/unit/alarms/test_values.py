"""The alarm domain's small rules (alarms/domain/values.py)."""

import datetime as dt

import pytest

from alarms.domain.values import CLOCK_SKEW, TimeInTheFuture, refuse_future

NOW = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("at", [NOW - dt.timedelta(days=2), NOW, NOW + CLOCK_SKEW])
def test_a_time_up_to_the_allowed_skew_ahead_is_taken_as_given(at):
    assert refuse_future(at, NOW, "received_at") == at


def test_a_time_past_the_skew_is_refused_naming_the_field():
    with pytest.raises(TimeInTheFuture, match="sent 2099-01-01"):
        refuse_future(dt.datetime(2099, 1, 1, tzinfo=dt.UTC), NOW, "sent")
    assert TimeInTheFuture.status == 422 and TimeInTheFuture.type_slug == "received-in-the-future"
