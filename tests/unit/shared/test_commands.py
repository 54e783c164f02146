"""`linkage.commands` records: the EscalateAlarm linkage sends is what the alarms service reads."""

import datetime as dt
import typing

import pytest

from linkduty_shared.contracts import ContractViolation
from linkduty_shared.contracts.alarms import CHAIN_LEVELS
from linkduty_shared.contracts.commands import ChainLevel, EscalateAlarm, escalate_alarm_from_data
from linkduty_shared.events import envelope_from_kafka, envelope_to_kafka

AT = dt.datetime(2026, 11, 23, 8, 1, tzinfo=dt.UTC)


def test_an_escalation_round_trips_through_its_kafka_record():
    command = EscalateAlarm("alarm-1", "community", "not acknowledged at community level within 60 s")
    message = envelope_to_kafka(command.envelope(time=AT))
    envelope = envelope_from_kafka(list(message.headers.items()), message.key, message.value)
    assert message.key == b"alarm-1"
    assert (envelope.type, envelope.source, envelope.subject, envelope.time) == (
        "linkduty.linkage.EscalateAlarm", "/linkduty/linkage", "alarm-1", AT)
    assert envelope.data == {"alarm_id": "alarm-1", "from_level": "community",
                             "reason": "not acknowledged at community level within 60 s"}
    assert escalate_alarm_from_data(envelope.data) == command


def test_the_same_alarm_and_level_is_the_same_command_whatever_the_time_or_reason():
    first = EscalateAlarm("alarm-1", "community", "one").envelope(time=AT)
    again = EscalateAlarm("alarm-1", "community", "two").envelope(time=AT + dt.timedelta(seconds=10))
    assert first.id == again.id
    # the id linkage has always sent (a restarted worker's re-sent command must match its predecessor's)
    assert first.id == "620c69fb-d920-5fd1-8dbb-3107a90cc554"
    assert EscalateAlarm("alarm-1", "street", "one").command_id != first.id
    assert EscalateAlarm("alarm-2", "community", "one").command_id != first.id


def test_the_levels_are_the_chain_s():
    assert typing.get_args(ChainLevel) == CHAIN_LEVELS


def test_extra_fields_are_dropped():
    data = {"alarm_id": "alarm-1", "from_level": "street", "reason": "r", "injected": "<script>"}
    assert escalate_alarm_from_data(data) == EscalateAlarm("alarm-1", "street", "r")


GOOD = {"alarm_id": "alarm-1", "from_level": "community", "reason": "late"}


@pytest.mark.parametrize("data, where", [
    ({k: v for k, v in GOOD.items() if k != "alarm_id"}, "alarm_id"),
    (GOOD | {"alarm_id": ""}, "alarm_id"),
    (GOOD | {"alarm_id": 7}, "alarm_id"),
    (GOOD | {"from_level": "province"}, "from_level"),
    (GOOD | {"from_level": None}, "from_level"),
    ({k: v for k, v in GOOD.items() if k != "reason"}, "reason"),
    (["alarm-1", "community", "late"], "data"),
])
def test_an_escalation_breaking_its_contract_says_where(data, where):
    with pytest.raises(ContractViolation, match=f"EscalateAlarm v1 contract: {where}: "):
        escalate_alarm_from_data(data)
