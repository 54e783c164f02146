"""`linkage.commands`: what the linkage app asks other services to do.

Kafka key = the alarm id. The value is a CloudEvent (binary mode), `dataversion` 1, source
`/linkduty/linkage`. One command so far:

- `linkduty.linkage.EscalateAlarm`, for the alarms service: nobody at `from_level` or above
  acknowledged the alarm in time, so it escalates one level up (an `AlarmEscalated`, which linkage
  reads back to start the next level's deadline). Data: `alarm_id`, `from_level` (a chain level),
  `reason` (for people). Its id comes from (alarm id, from_level): a command sent again, after a
  restart or because the first had no visible effect yet, is the same command. The alarm
  escalates once per level either way, because `Alarm.escalate` ignores a level the alarm has
  already left.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from linkduty_shared.contracts import validated
from linkduty_shared.events.envelope import Envelope

COMMAND_SOURCE = "/linkduty/linkage"
ESCALATE_ALARM_TYPE = "linkduty.linkage.EscalateAlarm"
_ESCALATION_NAMESPACE = uuid.UUID("0b5f7f63-0f55-4a4e-b5a8-7c4a8f0e2d31")

# contracts.alarms.CHAIN_LEVELS, spelled out for the validator (a unit test keeps them equal)
ChainLevel = Literal["community", "street", "district", "city"]


@dataclasses.dataclass(frozen=True)
class EscalateAlarm:
    alarm_id: Annotated[str, Field(min_length=1)]
    from_level: ChainLevel
    reason: str

    @property
    def command_id(self) -> str:
        return str(uuid.uuid5(_ESCALATION_NAMESPACE, f"{self.alarm_id}/{self.from_level}"))

    def to_data(self) -> dict[str, Any]:
        return {"alarm_id": self.alarm_id, "from_level": self.from_level, "reason": self.reason}

    def envelope(self, *, time: dt.datetime) -> Envelope:
        return Envelope(id=self.command_id, source=COMMAND_SOURCE, type=ESCALATE_ALARM_TYPE, subject=self.alarm_id,
                        time=time, data=self.to_data())


_ESCALATE_ALARM = TypeAdapter(EscalateAlarm)


def escalate_alarm_from_data(data: Any) -> EscalateAlarm:
    """The command that a record's data holds, each field of the type the contract gives it, or
    ContractViolation. Extra fields are dropped."""
    return validated(_ESCALATE_ALARM, data, ESCALATE_ALARM_TYPE)
