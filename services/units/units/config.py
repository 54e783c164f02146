from __future__ import annotations

from linkduty_shared.config import HttpServiceSettings


class UnitsSettings(HttpServiceSettings):
    service_name: str = "units"
    pg_dsn: str = "postgresql://linkduty:linkduty@127.0.0.1:15432/linkduty_units"
    port: int = 8102
    events_topic: str = "units.events"
    alarms_topic: str = "alarms.events"
    run_cards_path: str | None = None  # run cards (TOML, see domain/run_cards.toml); the shipped ones when unset
    # A unit that has not acknowledged or declined its order by then is passed over and the next
    # candidate ordered (the sweep runs every order_sweep_interval_s).
    answer_within_s: float = 60.0
    # Only alarms received this recently are dispatched automatically: a service starting on
    # (or catching up with) days of alarms.events must not send every unit to old incidents.
    dispatch_max_alarm_age_s: float = 3600.0
    order_sweep_interval_s: float = 1.0
    # Response-time targets (NFPA 1225 / 1710 defaults), for the report endpoint.
    target_processing_p90_s: float = 60.0
    target_turnout_fire_s: float = 80.0
    target_travel_first_engine_s: float = 240.0
