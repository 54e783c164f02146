from __future__ import annotations

from linkduty_shared.config import HttpServiceSettings


class VolunteersSettings(HttpServiceSettings):
    service_name: str = "volunteers"
    pg_dsn: str = "postgresql://linkduty:linkduty@127.0.0.1:15432/linkduty_volunteers"
    port: int = 8105
    events_topic: str = "volunteers.events"
    # The service domains (TOML, see domain/service_domains.toml); the shipped ones when unset.
    service_domains_path: str | None = None
    # The courses and which are required per domain (TOML, see domain/courses.toml; the shipped ones when unset).
    courses_path: str | None = None
    # Grades and stars (TOML, see domain/grades.toml), and the kinds of service orders
    # (domain/order_kinds.toml): the shipped ones when unset.
    grades_path: str | None = None
    order_kinds_path: str | None = None
    # Orders past their answer deadline go back to their assigner: swept this often, this many a pass.
    order_sweep_interval_s: float = 30.0
    order_sweep_batch: int = 200

    # Proximity alerts on 119 alarms (alarms.events, group alarm_alerts_group).
    alarm_alerts_enabled: bool = True
    alarms_events_topic: str = "alarms.events"
    alarm_alerts_group: str = "volunteers-alarm-alerts"
    alert_radius_m: float = 400.0
    alert_wanted: int = 3  # acceptances that stand the other alerts down
    alert_max: int = 20  # volunteers alerted at most, nearest first
    position_fresh_s: float = 300.0  # a position older than this is stale: not alerted, and deleted
    alert_max_alarm_age_s: float = 600.0  # an AlarmReported recorded longer ago alerts nobody (a consumer catching up)
    max_alert_streams: int = 5000  # the volunteers' own alert streams (SSE) a replica holds at once
