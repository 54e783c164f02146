"""The alarms application layer: the intake (JSON and CAP), the alarm's lifecycle, and what the
service consumes, each a unit of work over the alarm streams."""

from alarms.application.commands import ReportAlarm, Reported
from alarms.application.service import AlarmsService, utcnow

__all__ = ["AlarmsService", "ReportAlarm", "Reported", "utcnow"]
