"""Reading a units service's DispatchedUnitArrived and linkage's EscalateAlarm (no infrastructure)."""

import dataclasses
import datetime as dt

import pytest

from alarms.consumers import MalformedArrival, UnitArrival, escalation_handler
from linkduty_shared.contracts import ContractViolation
from linkduty_shared.contracts.commands import EscalateAlarm
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


class EscalationService:
    """Stands in for the alarms service: records the escalations it is asked for."""

    def __init__(self) -> None:
        self.escalations: list[tuple[str, str, str, str | None]] = []

    async def escalate(self, alarm_id, from_level, reason, ctx):
        self.escalations.append((alarm_id, from_level, reason, ctx.causation_id))


async def test_an_escalate_alarm_command_escalates_its_alarm_from_its_level():
    service = EscalationService()
    command = EscalateAlarm("a1", "street", "not acknowledged at street level within 60 s").envelope(
        time=dt.datetime.now(dt.UTC))
    await escalation_handler(service)(command, None)
    assert service.escalations == [("a1", "street", "not acknowledged at street level within 60 s", command.id)]


async def test_other_commands_are_left_alone():
    service = EscalationService()
    command = EscalateAlarm("a1", "street", "r").envelope(time=dt.datetime.now(dt.UTC))
    other = dataclasses.replace(command, type="linkduty.linkage.RecallUnits", data={"alarm_id": "a1"})
    await escalation_handler(service)(other, None)
    assert service.escalations == []


@pytest.mark.parametrize("data", [{"alarm_id": "a1", "reason": "r"}, {"alarm_id": "a1", "from_level": "moon", "reason": "r"},
                                  {"alarm_id": None, "from_level": "street", "reason": "r"}])
async def test_an_escalate_alarm_breaking_its_contract_is_a_contract_violation_and_does_nothing(data):
    service = EscalationService()
    command = dataclasses.replace(EscalateAlarm("a1", "street", "r").envelope(time=dt.datetime.now(dt.UTC)), data=data)
    with pytest.raises(ContractViolation):  # the consumer runner dead-letters it at once
        await escalation_handler(service)(command, None)
    assert service.escalations == []
