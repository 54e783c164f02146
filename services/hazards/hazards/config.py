from __future__ import annotations

from linkduty_shared.config import HttpServiceSettings


class HazardsSettings(HttpServiceSettings):
    service_name: str = "hazards"
    pg_dsn: str = "postgresql://linkduty:linkduty@127.0.0.1:15432/linkduty_hazards"
    port: int = 8103
    events_topic: str = "hazards.events"
    categories_path: str | None = None  # the taxonomy (TOML, see domain/categories.toml); the shipped one when unset
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
