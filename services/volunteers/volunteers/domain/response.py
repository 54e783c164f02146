"""The volunteers' response to one 119 alarm (the PulsePoint model, tiered), as an aggregate
on stream `alarm_response/<alarm id>`. Pure: no I/O, the time passed in.

Who is alerted is decided here (`choose`): on-duty volunteers within the radius who pass the
duty gate of the alarm kind's domain and whose grade is trusted with the place (public, home),
nearest first. Alerting stops once `wanted` have accepted (the rest are stood down), and when
the alarm closes. An acceptance carries an ETA; a volunteer who accepted reports from the scene;
the community confirms the response, and its hours go to the volunteer's ledger.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from linkduty_shared.domain import Aggregate, DomainEvent, IllegalTransition, InvariantViolated, NotPermitted

from volunteers.domain.courses import Courses
from volunteers.domain.events import (
    VolunteerAlertsStoodDown,
    VolunteerResponseAccepted,
    VolunteerResponseConfirmed,
    VolunteerResponseDeclined,
    VolunteersAlerted,
    VolunteerSceneReported,
)
from volunteers.domain.grades import Grades
from volunteers.domain.volunteer import Volunteer, iso_time

GUIDANCE_KINDS = ("road_blocked", "hydrant", "gate_code", "access", "other")
MAX_ETA_MINUTES = 60


@dataclasses.dataclass(frozen=True)
class Nearby:
    """An on-duty volunteer the position index found near the alarm."""

    volunteer: Volunteer
    distance_m: float


def choose(nearby: list[Nearby], *, domain: str, place: str, day: dt.date, courses: Courses, grades: Grades,
           limit: int) -> list[dict]:
    """Whom to alert, nearest first, at most `limit`: those fit for `domain` today whose grade is
    alerted to `place`. Each as VolunteersAlerted lists them (distance rounded to 50 m)."""
    chosen = []
    for n in sorted(nearby, key=lambda n: n.distance_m):
        v = n.volunteer
        grade = v.grade_on(grades)
        if place not in grade.alert_places or v.missing_for_domain(domain, day, courses):
            continue
        chosen.append({"volunteer_id": v.id, "name_masked": v.applied.name_masked, "grade": grade.id,
                       "distance_m": round(n.distance_m / 50) * 50})
        if len(chosen) == limit:
            break
    return chosen


class AlarmResponse(Aggregate):
    stream_type = "alarm_response"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.alerted: VolunteersAlerted | None = None
        self.alerts: dict[str, dict] = {}  # volunteer id → their line of VolunteersAlerted
        self.accepted: dict[str, VolunteerResponseAccepted] = {}
        self.declined: set[str] = set()
        self.stood_down: set[str] = set()
        self.confirmed: dict[str, float] = {}  # volunteer id → hours confirmed
        self.scene_reports: list[VolunteerSceneReported] = []
        self.closed = False

    @property
    def jurisdiction(self) -> dict:
        return self.alerted.jurisdiction if self.alerted else {}

    @property
    def unanswered(self) -> list[str]:
        return [v for v in self.alerts if v not in self.accepted and v not in self.declined
                and v not in self.stood_down]

    def evolve(self, e: DomainEvent) -> None:
        match e:
            case VolunteersAlerted():
                self.alerted = e
                self.alerts = {line["volunteer_id"]: line for line in e.alerted}
            case VolunteerResponseAccepted():
                self.accepted[e.volunteer_id] = e
            case VolunteerResponseDeclined():
                self.declined.add(e.volunteer_id)
            case VolunteerAlertsStoodDown():
                self.stood_down.update(e.volunteer_ids)
                self.closed = self.closed or e.reason == "alarm_closed"
            case VolunteerSceneReported():
                self.scene_reports.append(e)
            case VolunteerResponseConfirmed():
                self.confirmed[e.volunteer_id] = e.hours

    # ---- commands ----------------------------------------------------------------------------

    def alert(self, alerted: VolunteersAlerted) -> list[DomainEvent]:
        """Once per alarm: a redelivered AlarmReported alerts nobody again."""
        if self.exists:
            return []
        return self._record(alerted)

    def accept(self, volunteer: Volunteer, *, eta_minutes: int, courses: Courses, grades: Grades,
               at: dt.datetime) -> list[DomainEvent]:
        """The alerted volunteer is coming. Passes the gate again (a policy may have run out since
        the alert); once `wanted` have accepted, the others are stood down."""
        line = self._alert_of(volunteer.id)
        if volunteer.id in self.accepted:
            return []
        if self.closed or volunteer.id in self.stood_down:
            raise IllegalTransition(f"the alert of alarm {self.id} was stood down: no one more is needed")
        if not 0 < eta_minutes <= MAX_ETA_MINUTES:
            raise InvariantViolated(f"an ETA is 1 to {MAX_ETA_MINUTES} minutes (further away, leave it to others)")
        volunteer.fit_for(self.alerted.domain, at.date(), courses)
        events: list[DomainEvent] = [VolunteerResponseAccepted(
            self.id, volunteer.id, volunteer.applied.name_masked, volunteer.grade_on(grades).id, eta_minutes,
            line["distance_m"], at=iso_time(at))]
        self._record(*events)
        if len(self.accepted) >= self.alerted.wanted and self.unanswered:
            events += self._record(VolunteerAlertsStoodDown(self.id, "enough_accepted", tuple(self.unanswered),
                                                            at=iso_time(at)))
        return events

    def decline(self, volunteer_id: str, *, at: dt.datetime) -> list[DomainEvent]:
        self._alert_of(volunteer_id)
        if volunteer_id in self.declined or volunteer_id in self.stood_down:
            return []
        if volunteer_id in self.accepted:
            raise IllegalTransition("accepted already: tell the station if you cannot come")
        return self._record(VolunteerResponseDeclined(self.id, volunteer_id, at=iso_time(at)))

    def report_scene(self, volunteer: Volunteer, *, lat: float, lon: float, assessment: str,
                     guidance: tuple[dict, ...], photos: tuple[str, ...], at: dt.datetime) -> list[DomainEvent]:
        if volunteer.id not in self.accepted:
            raise NotPermitted("only a volunteer who accepted the alert reports from its scene")
        if not assessment.strip() and not guidance and not photos:
            raise InvariantViolated("a scene report says, shows or guides something")
        if any(g.get("kind") not in GUIDANCE_KINDS for g in guidance):
            raise InvariantViolated(f"guidance kinds: {', '.join(GUIDANCE_KINDS)}")
        return self._record(VolunteerSceneReported(self.id, volunteer.id, volunteer.applied.name_masked, lat, lon,
                                                   assessment.strip(), guidance, photos, at=iso_time(at)))

    def close(self, *, at: dt.datetime) -> list[DomainEvent]:
        """The alarm closed (closed, cancelled, a false alarm): the alerts still out stop."""
        if not self.exists or self.closed:
            return []
        return self._record(VolunteerAlertsStoodDown(self.id, "alarm_closed", tuple(self.unanswered), at=iso_time(at)))

    def confirm(self, volunteer_id: str, *, hours: float, by: str, at: dt.datetime) -> list[DomainEvent]:
        """The community confirms the response of one who accepted; once per volunteer."""
        if volunteer_id not in self.accepted:
            raise IllegalTransition(f"volunteer {volunteer_id} did not accept the alert of alarm {self.id}")
        if volunteer_id in self.confirmed:
            return []
        if not 0 < hours <= 24:
            raise InvariantViolated("hours of a response: more than 0, at most 24")
        return self._record(VolunteerResponseConfirmed(self.id, volunteer_id, hours, by=by, at=iso_time(at)))

    def _alert_of(self, volunteer_id: str) -> dict:
        if not self.exists:
            raise IllegalTransition(f"no volunteer was alerted for alarm {self.id}")
        line = self.alerts.get(volunteer_id)
        if line is None:
            raise NotPermitted(f"volunteer {volunteer_id} was not alerted for alarm {self.id}")
        return line
