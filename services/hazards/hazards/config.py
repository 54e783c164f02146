from __future__ import annotations

from linkduty_shared.config import HttpServiceSettings
from linkduty_shared.objects import ObjectStoreSettings


class HazardsSettings(HttpServiceSettings, ObjectStoreSettings):
    service_name: str = "hazards"
    pg_dsn: str = "postgresql://linkduty:linkduty@127.0.0.1:15432/linkduty_hazards"
    port: int = 8103
    events_topic: str = "hazards.events"
    categories_path: str | None = None  # the taxonomy (TOML, see domain/categories.toml); the shipped one when unset
    # Joint patrols' findings (PatrolFindingLogged on units.events) become hazards (consumers.py);
    # their kinds map onto categories by patrol_kinds_path (TOML, see domain/patrol_kinds.toml).
    units_events_topic: str = "units.events"
    patrol_findings_group: str = "hazards"
    # Hazards found on volunteers' home visits (ServiceOrderCompleted), filed as source volunteer.
    volunteers_events_topic: str = "volunteers.events"
    volunteer_findings_group: str = "hazards-volunteer-findings"
    volunteer_findings_category: str = "other"  # for a category this taxonomy does not know
    # Networked detectors' troubles (devices.events DeviceTroubleBegan: offline, low battery, fault,
    # tamper) become one maintenance hazard per episode, source device, closed again by the episode's
    # DeviceTroubleEnded (HazardResolvedAtSource). Off: no consumer of devices.events.
    device_troubles_enabled: bool = True
    devices_events_topic: str = "devices.events"
    device_troubles_group: str = "hazards-device-troubles"
    device_troubles_category: str = "detector_maintenance"  # a category of the taxonomy (checked at start-up)
    patrol_kinds_path: str | None = None  # the shipped mapping when unset (a taxonomy of one's own needs its own)
    # A report this close to an open hazard of a compatible category is offered to triage as the same.
    duplicate_radius_m: float = 50.0
    # The same category this close to (or at the same venue as) a hazard fixed this recently is a recurrence (反弹).
    recurrence_radius_m: float = 30.0
    recurrence_window_days: float = 90.0
    # Untriaged this long after the report, by severity, a hazard is overdue (it escalates to the
    # street, and the street has as long again before the district; HazardReported records the deadline).
    triage_within_hours: dict[str, float] = {"minor": 72.0, "moderate": 24.0, "major": 2.0}
    # How often the deadline sweep looks for overdue hazards (an escalation is at most this late,
    # plus the pass itself), and how many it escalates per pass at most.
    deadline_sweep_interval_s: float = 30.0
    deadline_sweep_batch: int = 100
    # Photos (hazards.photos): where their bytes go is ObjectStoreSettings' (local directory or S3).
    photo_max_bytes: int = 10 * 1024 * 1024
    photo_max_pixels: int = 50_000_000  # checked from the header, before decoding: a decompression bomb is a 4xx
    photo_concurrency: int = 2  # photos decoded at once (a worker thread and up to ~200 MB each)
    photo_unattached_keep_hours: float = 24.0  # uploaded, never named by a report: then deleted
    # A report from these sources needs at least this many photos (随手拍 is a snapshot); 1 to 9 in all.
    min_photos_per_report: dict[str, int] = {"resident_app": 1}
    # Venues (场所): their kinds, inspection intervals and checklists (TOML, see domain/venue_kinds.toml;
    # the shipped ones when unset). The same sweep interval and batch find venues whose inspection is
    # overdue and escalate them, community → street → district.
    venue_kinds_path: str | None = None
    # The pre-incident picture (application/alarm_context.py): each AlarmReported on alarms.events
    # gets what is known about its place: the venue within alarm_context_venue_radius_m, and the open
    # hazards within alarm_context_radius_m. An alarm reported longer ago than alarm_context_max_age_s
    # (a consumer catching up after an outage, or a new group reading from the start) gets none.
    # Off: no consumer of alarms.events (the consoles get no picture; GET …/context answers 404).
    alarm_context_enabled: bool = True
    alarms_events_topic: str = "alarms.events"
    alarm_context_group: str = "hazards-alarm-context"
    alarm_context_venue_radius_m: float = 50.0
    alarm_context_radius_m: float = 100.0
    alarm_context_max_age_s: float = 600.0
