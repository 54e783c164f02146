"""`alarms.events`: what other services may rely on in the alarms service's events.

Key = alarm id; value = CloudEvent (binary mode), type `linkduty.alarm.<EventName>`. The public
event names: AlarmReported, CallLinked, CallSplit, AlarmVerified, AlarmMarkedFalse, AlarmUpdated,
AlarmAcknowledged, AlarmEscalated, AlarmControlled, AlarmCancelled, AlarmClosed, ForceArrivedOnScene
(a dispatched unit reached the scene: unit_id, force_kind, role, arrived_at; no status change).
Data never carries personal data (a masked phone at most).
"""

# The alarm's status after each event that changes it (an AlarmReported alarm is "reported").
STATUS_AFTER_EVENT = {
    "AlarmVerified": "verified",
    "AlarmMarkedFalse": "false_alarm",
    "AlarmControlled": "controlled",
    "AlarmCancelled": "cancelled",
    "AlarmClosed": "closed",
}
CLOSED_STATUSES = frozenset({"false_alarm", "cancelled", "closed"})

# The chain a centre sits in, bottom up: acknowledgement and escalation climb it in this order
# (AlarmAcknowledged.level, AlarmEscalated.from_level / to_level take these values).
CHAIN_LEVELS = ("community", "street", "district", "city")


def levels_from(level: str) -> tuple[str, ...]:
    """`level` and every level above it."""
    return CHAIN_LEVELS[CHAIN_LEVELS.index(level):]
