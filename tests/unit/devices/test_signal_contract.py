"""One parser for HTTP and MQTT signals: what it accepts and how it names what is wrong."""

import pytest

from devices.application.errors import MalformedSignal
from devices.domain.values import SignalType
from devices.signal_contract import parse_signal


def test_a_signal_is_parsed_with_its_id_from_the_payload_or_the_webhook():
    s = parse_signal("demo-iot", b'{"signal_id":"s1","device_id":"det-1","type":"heartbeat",'
                                 b'"at":"2026-12-04T08:00:00+08:00","battery_pct":80}', signal_id=None)
    assert (s.signal_id, s.type, s.battery_pct, s.platform) == ("s1", SignalType.HEARTBEAT, 80, "demo-iot")
    s = parse_signal("demo-iot", b'{"device_id":"det-1","type":"smoke_alarm","at":"2026-12-04T08:00:00Z"}',
                     signal_id="msg_1")
    assert s.signal_id == "msg_1" and s.signalled_at.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("payload, signal_id, names", [
    (b'{"device_id":"d","type":"smoke_alarm","at":"2026-12-04T08:00:00"}', "w", "at"),  # no offset
    (b'{"device_id":"d","type":"explosion","at":"2026-12-04T08:00:00Z"}', "w", "type"),
    (b'{"device_id":"d","type":"heartbeat","at":"2026-12-04T08:00:00Z","battery_pct":101}', "w", "battery_pct"),
    (b'{"device_id":"d","type":"heartbeat","at":"2026-12-04T08:00:00Z","extra":1}', "w", "extra"),
    (b'{"device_id":"d e","type":"heartbeat","at":"2026-12-04T08:00:00Z"}', "w", "device_id"),
    (b'{"device_id":"d","type":"heartbeat","at":"2026-12-04T08:00:00Z"}', None, "signal_id"),
    (b'{"signal_id":"a","device_id":"d","type":"heartbeat","at":"2026-12-04T08:00:00Z"}', "b", "webhook-id"),
    (b"not json", "w", "body"),
])
def test_a_malformed_signal_names_what_is_wrong(payload, signal_id, names):
    with pytest.raises(MalformedSignal) as refused:
        parse_signal("demo-iot", payload, signal_id=signal_id)
    assert names in str(refused.value)
