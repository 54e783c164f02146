"""`units.events`: what other services may rely on in the units service's events.

Value = CloudEvent (binary mode), type `linkduty.<stream type>.<EventName>`.

Two kinds of stream share the topic:
- records about one alarm: `dispatch` (联调: the plan, the orders, the units' answers and their
  progress to the scene, move-up suggestions) and `joint_operation` (联战: who is on scene, who
  commands, the on-scene log). Their Kafka key is the **alarm id**, so that they land on the same
  partition number as the alarm's own events on `alarms.events` (both topics have the same
  partition count): a consumer keeping per-alarm state (the linkage app) sees them co-partitioned.
  The alarm id is also in every such event's data as `alarm_id`.
- records about one force: `unit` (its status), `duty_roster`, and the patrol and training
  records; key = their stream id.

Data never carries personal data: members are counted, not named.
"""

# Stream types whose events concern one alarm and are keyed by its id.
ALARM_RECORD_STREAM_TYPES = frozenset({"dispatch", "joint_operation"})

# A dispatched unit reached the alarm's scene (`dispatch` stream). Data: alarm_id, unit_id,
# force_kind, role ("main" | "auxiliary_1" | "auxiliary_2"), at (ISO 8601).
UNIT_ARRIVED_EVENT = "DispatchedUnitArrived"

# The roles of 一主两辅 (one main force, two auxiliaries).
ROLES = ("main", "auxiliary_1", "auxiliary_2")

# Every order is issued in the transaction of the DispatchPlanned that lists it (assignments), so
# consoles learn whom a plan sends from the plan: routing each order as well would send every
# centre four notifications where one says it all, the biggest share of linkage's load.
NOT_FOR_CONSOLES = frozenset({"DispatchOrderIssued"})


def is_alarm_record(event_type: str) -> bool:
    """Whether a `units.events` CloudEvent type (`linkduty.<stream type>.<Name>`) is about an alarm."""
    parts = event_type.split(".")
    return len(parts) == 3 and parts[1] in ALARM_RECORD_STREAM_TYPES


def is_for_consoles(event_type: str) -> bool:
    """Whether linkage routes this `units.events` record to the centres that see its alarm."""
    return is_alarm_record(event_type) and event_type.rsplit(".", 1)[-1] not in NOT_FOR_CONSOLES
