"""`alarms.events`: what other services may rely on in the alarms service's events.

Key = alarm id; value = CloudEvent (binary mode), type `linkduty.alarm.<EventName>`; the event
names below are the public ones. Data never carries personal data (a masked phone at most).
"""

EVENT_TYPES = (
    "AlarmReported", "CallLinked", "CallSplit", "AlarmVerified", "AlarmMarkedFalse", "AlarmUpdated",
    "AlarmAcknowledged", "AlarmEscalated", "AlarmControlled", "AlarmCancelled", "AlarmClosed",
)

# The alarm's status after each event that changes it (an AlarmReported alarm is "reported").
STATUS_AFTER_EVENT = {
    "AlarmVerified": "verified",
    "AlarmMarkedFalse": "false_alarm",
    "AlarmControlled": "controlled",
    "AlarmCancelled": "cancelled",
    "AlarmClosed": "closed",
}
CLOSED_STATUSES = frozenset({"false_alarm", "cancelled", "closed"})
