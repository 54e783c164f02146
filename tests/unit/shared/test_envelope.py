import datetime as dt

import pytest

from linkduty_shared.events import Envelope, EnvelopeError, envelope_from_kafka, envelope_to_kafka


def sample() -> Envelope:
    return Envelope(
        id="0b9c6f1e-5f59-4a5f-9a34-4c1c0f3f3a10", source="/linkduty/alarms", type="linkduty.alarm.AlarmReported",
        subject="alarm-1", time=dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC), data={"kind": "fire", "n": 1},
        dataversion=2, streamversion=1, traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        correlationid="corr-1", causationid="cause-1", actor="console-330106", agency="fire-rescue",
    )


def test_kafka_binary_binding_round_trips_every_attribute():
    message = envelope_to_kafka(sample())
    assert message.key == b"alarm-1"
    assert message.headers["ce_type"] == b"linkduty.alarm.AlarmReported"
    assert message.headers["content-type"] == b"application/json"
    assert envelope_from_kafka(list(message.headers.items()), message.key, message.value) == sample()


@pytest.mark.parametrize(
    "headers, value",
    [
        ([], b'{"a": 1}'),  # no CloudEvents headers at all
        ([("ce_specversion", b"1.0"), ("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", b"t"),
          ("ce_time", b"2026-11-23T08:00:00+00:00")], b"{not json"),
        ([("ce_specversion", b"1.0"), ("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", b"t"),
          ("ce_time", b"2026-11-23T08:00:00+00:00")], b"[1, 2]"),  # data not an object
        ([("ce_specversion", b"1.0"), ("ce_id", b"1")], None),
    ],
)
def test_anything_else_is_an_envelope_error(headers, value):
    with pytest.raises(EnvelopeError):
        envelope_from_kafka(headers, b"k", value)
