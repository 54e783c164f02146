"""What the devices service publishes on `devices.events` that other services act on.

Key = subject = the **device id**; value = CloudEvent (binary mode), type
`linkduty.device.<EventName>`, `dataversion` 1; the `divisions` extension carries the device's
division chain. No record carries a person's name, ID number, phone or home address: a resident
is present only as the `Vulnerability` a responder needs (age band, mobility, floor, lives alone).

1. **Smoke alarms** (the alarms service consumes them, group `alarms-device-alarms`):
   - `DeviceAlarmRaised`: a detector went off and this is a new episode (repeats of the same
     alarm within the device's suppression window are counted on the device, never published
     again). `episode_id` is the first alarm signal's id (unique per device): the alarms service makes `episode_key` of it the call
     id, so a redelivered record links nothing twice. The alarms service reports it as an alarm
     of source `device`, kind `fire`, `location.place` = `place`, with `vulnerability` on it.
   - `DeviceAlarmCleared`: the detector reported "alarm cleared" for that episode; `repeats` is
     how many alarm signals the episode counted, `after_s` how long after the raise, and
     `possible_false_alarm` true when it cleared within the quick-clear window with no repeat
     after the first: the alarms service shows it on the alarm, a person decides.
2. **Device troubles** (the hazards service consumes them, group `hazards-device-troubles`):
   `DeviceTroubleBegan` (offline: no signal past its heartbeat period and grace; low_battery;
   fault; tamper) becomes one maintenance hazard for the device's community per `episode_id`,
   and `DeviceTroubleEnded` of that episode (the device reported again, the battery is good
   again, a maintenance record) closes it.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from linkduty_shared.contracts import ContractViolation, validated

TYPE_PREFIX = "linkduty.device."
ALARM_RAISED_TYPE = f"{TYPE_PREFIX}DeviceAlarmRaised"
ALARM_CLEARED_TYPE = f"{TYPE_PREFIX}DeviceAlarmCleared"
TROUBLE_BEGAN_TYPE = f"{TYPE_PREFIX}DeviceTroubleBegan"
TROUBLE_ENDED_TYPE = f"{TYPE_PREFIX}DeviceTroubleEnded"

TROUBLES = ("offline", "low_battery", "fault", "tamper")
AGE_BANDS = ("under_60", "60_69", "70_79", "80_89", "90_plus")
MOBILITIES = ("independent", "needs_help_on_stairs", "wheelchair", "bedridden")

Id = Annotated[str, Field(min_length=1, max_length=64)]
Short = Annotated[str, Field(max_length=100)]


@dataclasses.dataclass(frozen=True)
class DeviceLocation:
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    building: Short | None = None  # "3号楼": the building, never a person's address
    floor: Annotated[int, Field(ge=-10, le=200)] | None = None
    flat: Short | None = None  # the door a responder goes to ("502"), not who lives there

    def door(self, flat_suffix: str = "") -> str | None:
        """Building, floor and flat as one line ("3幢 5层 502"): a place, never who lives there;
        None when the record says none of it."""
        parts = [self.building, f"{self.floor}层" if self.floor is not None else None,
                 f"{self.flat}{flat_suffix}" if self.flat else None]
        return " ".join(p for p in parts if p) or None


@dataclasses.dataclass(frozen=True)
class Vulnerability:
    """What a responder needs to know about who is likely inside; no name, no number."""

    kind: Literal["resident", "premises"]
    age_band: Literal[AGE_BANDS] | None = None  # type: ignore[valid-type]
    mobility: Literal[MOBILITIES] | None = None  # type: ignore[valid-type]
    lives_alone: bool = False
    hearing_impaired: bool = False
    sight_impaired: bool = False
    oxygen_at_home: bool = False
    premises_kind: Short | None = None  # nursery, care_home, market… (kind premises)
    occupants: Annotated[int, Field(ge=0, le=100_000)] | None = None  # people usually inside (premises)
    needs: Annotated[str, Field(max_length=300)] | None = None  # scrubbed of numbers at the source


@dataclasses.dataclass(frozen=True)
class DeviceAlarmRaised:
    device_id: Id
    episode_id: Id
    platform: Id
    model: Short
    location: DeviceLocation
    place: Literal["home", "public"]
    vulnerability: Vulnerability | None
    signalled_at: AwareDatetime  # the device's (platform's) time of the first alarm signal
    at: AwareDatetime  # when LinkDuty took it in


@dataclasses.dataclass(frozen=True)
class DeviceAlarmCleared:
    device_id: Id
    episode_id: Id
    repeats: Annotated[int, Field(ge=1)]
    after_s: Annotated[float, Field(ge=0)]
    possible_false_alarm: bool
    at: AwareDatetime


@dataclasses.dataclass(frozen=True)
class DeviceTroubleBegan:
    device_id: Id
    episode_id: Id
    trouble: Literal[TROUBLES]  # type: ignore[valid-type]
    model: Short
    location: DeviceLocation
    detail: Annotated[str, Field(max_length=300)]  # what a maintainer reads ("no heartbeat since …")
    at: AwareDatetime


@dataclasses.dataclass(frozen=True)
class DeviceTroubleEnded:
    device_id: Id
    episode_id: Id
    trouble: Literal[TROUBLES]  # type: ignore[valid-type]
    how: Literal["reported_again", "battery_ok", "maintained"]
    at: AwareDatetime


_ADAPTERS = {f"{TYPE_PREFIX}{cls.__name__}": TypeAdapter(cls) for cls in (
    DeviceAlarmRaised, DeviceAlarmCleared, DeviceTroubleBegan, DeviceTroubleEnded)}
ALARM_TYPES = frozenset({ALARM_RAISED_TYPE, ALARM_CLEARED_TYPE})
TROUBLE_TYPES = frozenset({TROUBLE_BEGAN_TYPE, TROUBLE_ENDED_TYPE})


def episode_key(device_id: str, episode_id: str) -> str:
    """An episode, unique across platforms (an episode id is a signal id, unique per platform
    only; a device id is unique in the registry): what consumers key what they make of it by."""
    return f"{device_id}/{episode_id}"


def device_event_of(envelope: Any) -> Any:
    """The contract's dataclass of a `devices.events` record (an Envelope), its subject checked
    to be its device id; ContractViolation (poison) otherwise."""
    event = device_event_from_data(envelope.type, envelope.data)
    if envelope.subject != event.device_id:
        raise ContractViolation(f"{envelope.type} {envelope.id}: subject {envelope.subject!r} is not its device_id")
    return event


def device_event_from_data(event_type: str, data: Any) -> Any:
    """The contract's dataclass for one of the four types above, or ContractViolation (poison).
    Extra fields are dropped; a type the contract does not list is a violation too (callers
    filter with ALARM_TYPES / TROUBLE_TYPES first)."""
    adapter = _ADAPTERS.get(event_type)
    if adapter is None:
        raise ContractViolation(f"{event_type!r} is no event of the devices v1 contract")
    return validated(adapter, data, event_type)
