"""Reading a units service's DispatchedUnitArrived (no infrastructure)."""

import datetime as dt

import pytest

from alarms.consumers import MalformedArrival, UnitArrival
from linkduty_shared.events.envelope import Envelope

DATA = {"alarm_id": "a1", "unit_id": "u1", "force_kind": "fire_station", "role": "main",
        "at": "2026-11-23T08:09:00+08:00"}


def arrived(**data) -> Envelope:
    return Envelope(id="e1", source="/linkduty/units", type="linkduty.dispatch.DispatchedUnitArrived", subject="d1",
                    time=dt.datetime.now(dt.UTC), data=data)


def test_an_arrival_is_read_from_the_contract_fields():
    arrival = UnitArrival.from_envelope(arrived(**DATA, extra="ignored"))
    assert arrival.alarm_id == "a1" and arrival.unit_id == "u1" and arrival.role == "main"
    assert arrival.at == dt.datetime(2026, 11, 23, 0, 9, tzinfo=dt.UTC)


@pytest.mark.parametrize("data", [
    {k: v for k, v in DATA.items() if k != "unit_id"}, DATA | {"alarm_id": ""}, DATA | {"role": None},
    DATA | {"at": "yesterday"}, DATA | {"force_kind": 3},
])
def test_a_malformed_arrival_is_refused_with_what_is_wrong(data):
    with pytest.raises(MalformedArrival, match="e1"):
        UnitArrival.from_envelope(arrived(**data))
