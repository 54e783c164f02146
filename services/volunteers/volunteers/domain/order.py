"""A service order (三单: 点单 → 派单 → 接单), as an aggregate. Pure: no I/O, the time passed in.

placed ─assign─▶ assigned ─accept─▶ accepted ─complete─▶ completed ─confirm─▶ confirmed
   │  ◀──decline / return (unanswered by its deadline)──┘
   └─publish─▶ published ─accept (any volunteer who passes its gate)─▶ accepted
Cancelled by its requester or its assigner at any point before it is completed.

Who may take it is decided here: the kind's duty gate (the service domain's required courses in
date, insured, approved) and its lowest grade, both named in the 409 when not met.
"""

from __future__ import annotations

import datetime as dt
import enum

from linkduty_shared.domain import Aggregate, DomainEvent, IllegalTransition, InvariantViolated, NotPermitted

from volunteers.domain.courses import Courses
from volunteers.domain.events import (
    ServiceOrderAccepted,
    ServiceOrderAssigned,
    ServiceOrderCancelled,
    ServiceOrderCompleted,
    ServiceOrderConfirmed,
    ServiceOrderDeclined,
    ServiceOrderPlaced,
    ServiceOrderPublished,
    ServiceOrderReturned,
)
from volunteers.domain.grades import Grades
from volunteers.domain.volunteer import NotFitForDuty, Volunteer, iso_time

MAX_PHOTOS = 9
MAX_HAZARDS_FOUND = 20


class OrderStatus(enum.StrEnum):
    PLACED = "placed"
    ASSIGNED = "assigned"
    PUBLISHED = "published"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


WAITING_FOR_A_VOLUNTEER = (OrderStatus.ASSIGNED, OrderStatus.PUBLISHED)


class ServiceOrder(Aggregate):
    stream_type = "service_order"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.placed: ServiceOrderPlaced | None = None
        self.status: OrderStatus | None = None
        self.assigned_to: dict | None = None  # {"volunteer_id" | "team_id"}
        self.assigned_by: str | None = None  # who assigned or published it last: it comes back to them
        self.answer_by: str | None = None
        self.volunteer_id: str | None = None  # who accepted it
        self.completed: ServiceOrderCompleted | None = None
        self.confirmed: ServiceOrderConfirmed | None = None
        self.history: list[dict] = []  # every transition: {"event", "at", "by"?}

    @property
    def jurisdiction(self) -> dict:
        return self.placed.jurisdiction if self.placed else {}

    def evolve(self, e: DomainEvent) -> None:
        step = {"event": e.event_type, "at": e.at}
        match e:
            case ServiceOrderPlaced():
                self.placed, self.status = e, OrderStatus.PLACED
                step["by"] = e.requested_by
            case ServiceOrderAssigned():
                self.status, self.answer_by, self.assigned_by = OrderStatus.ASSIGNED, e.answer_by, e.by
                self.assigned_to = {"volunteer_id": e.volunteer_id} if e.volunteer_id else {"team_id": e.team_id}
                step.update(by=e.by, **self.assigned_to)
            case ServiceOrderPublished():
                self.status, self.answer_by, self.assigned_by, self.assigned_to = (
                    OrderStatus.PUBLISHED, e.answer_by, e.by, None)
                step["by"] = e.by
            case ServiceOrderAccepted():
                self.status, self.volunteer_id, self.answer_by = OrderStatus.ACCEPTED, e.volunteer_id, None
                step["volunteer_id"] = e.volunteer_id
            case ServiceOrderDeclined() | ServiceOrderReturned():
                self.status, self.assigned_to, self.answer_by = OrderStatus.PLACED, None, None
                if isinstance(e, ServiceOrderDeclined):
                    step.update(volunteer_id=e.volunteer_id, reason=e.reason)
            case ServiceOrderCompleted():
                self.status, self.completed = OrderStatus.COMPLETED, e
            case ServiceOrderConfirmed():
                self.status, self.confirmed = OrderStatus.CONFIRMED, e
                step.update(by=e.by, rating=e.rating)
            case ServiceOrderCancelled():
                self.status = OrderStatus.CANCELLED
                step.update(by=e.by, reason=e.reason)
        self.history.append(step)

    # ---- commands ----------------------------------------------------------------------------

    def place(self, placed: ServiceOrderPlaced) -> list[DomainEvent]:
        if self.exists:
            raise IllegalTransition(f"order {self.id} was placed already")
        if placed.wanted_from and placed.wanted_until and placed.wanted_until < placed.wanted_from:
            raise InvariantViolated("the wanted window ends after it starts")
        return self._record(placed)

    def assign(self, *, volunteer: Volunteer | None, team_id: str | None, answer_within: dt.timedelta,
               courses: Courses, grades: Grades, by: str, at: dt.datetime) -> list[DomainEvent]:
        """派单 to a volunteer who passes the order's gate and grade today, or to a team."""
        self._expect((OrderStatus.PLACED, *WAITING_FOR_A_VOLUNTEER), "assign")
        if (volunteer is None) == (team_id is None):
            raise InvariantViolated("an order is assigned to one volunteer or one team")
        if volunteer is not None:
            self.check_fit(volunteer, courses, grades, at.date())
        return self._record(ServiceOrderAssigned(volunteer.id if volunteer else None, team_id,
                                                 answer_by=iso_time(at + answer_within), by=by, at=iso_time(at)))

    def publish(self, *, answer_within: dt.timedelta, by: str, at: dt.datetime) -> list[DomainEvent]:
        self._expect((OrderStatus.PLACED, *WAITING_FOR_A_VOLUNTEER), "publish")
        return self._record(ServiceOrderPublished(answer_by=iso_time(at + answer_within), by=by, at=iso_time(at)))

    def accept(self, volunteer: Volunteer, *, team_members: tuple[str, ...] = (), courses: Courses, grades: Grades,
               at: dt.datetime) -> list[DomainEvent]:
        """接单: the volunteer it was assigned to, a member of the team it was assigned to, or,
        published, anyone; each through the gate and the grade."""
        if self.status is OrderStatus.ACCEPTED and self.volunteer_id == volunteer.id:
            return []  # accepted already (a retry)
        self._expect(WAITING_FOR_A_VOLUNTEER, "accept")
        self._must_be_for(volunteer, team_members)
        self.check_fit(volunteer, courses, grades, at.date())
        return self._record(ServiceOrderAccepted(volunteer.id, volunteer.applied.name_masked, at=iso_time(at)))

    def decline(self, volunteer: Volunteer, *, team_members: tuple[str, ...] = (), reason: str,
                at: dt.datetime) -> list[DomainEvent]:
        """A published order is not declined (others may claim it); an assigned one goes back."""
        self._expect((OrderStatus.ASSIGNED,), "decline")
        self._must_be_for(volunteer, team_members)
        return self._record(ServiceOrderDeclined(volunteer.id, reason.strip() or "no reason given", at=iso_time(at)))

    def return_unanswered(self, at: dt.datetime) -> list[DomainEvent]:
        """Back to its assigner once its deadline passed with nobody accepting (the sweep's)."""
        if self.status not in WAITING_FOR_A_VOLUNTEER or self.answer_by is None:
            return []
        if dt.datetime.fromisoformat(self.answer_by) > at:
            return []
        return self._record(ServiceOrderReturned(self.answer_by, at=iso_time(at)))

    def complete(self, volunteer_id: str, *, report: str, photos: tuple[str, ...], hours_spent: float,
                 hazards_found: tuple[dict, ...], at: dt.datetime) -> list[DomainEvent]:
        self._expect((OrderStatus.ACCEPTED,), "complete")
        if volunteer_id != self.volunteer_id:
            raise NotPermitted(f"order {self.id} was accepted by another volunteer")
        if not report.strip():
            raise InvariantViolated("a completed order has a report")
        if len(photos) > MAX_PHOTOS or len(hazards_found) > MAX_HAZARDS_FOUND:
            raise InvariantViolated(f"at most {MAX_PHOTOS} photos and {MAX_HAZARDS_FOUND} hazards an order")
        if not 0 < hours_spent <= 24:
            raise InvariantViolated("hours spent: more than 0, at most 24")
        return self._record(ServiceOrderCompleted(volunteer_id, report.strip(), photos, hours_spent, hazards_found,
                                                  at=iso_time(at)))

    def confirm(self, *, rating: int, comment: str, hours: float | None, by: str,
                at: dt.datetime) -> list[DomainEvent]:
        """The requester confirms and rates; `hours` (the volunteer's own figure by default) is
        what the ledger is credited."""
        self._expect((OrderStatus.COMPLETED,), "confirm")
        if by != self.placed.requested_by:
            raise NotPermitted(f"only the one who ordered {self.id} confirms it")
        if not 1 <= rating <= 5:
            raise InvariantViolated("a rating is 1 to 5 stars")
        credited = self.completed.hours_spent if hours is None else hours
        if not 0 < credited <= self.completed.hours_spent:
            raise InvariantViolated(f"confirmed hours: more than 0, at most the {self.completed.hours_spent:g} "
                                    "the volunteer reported")
        return self._record(ServiceOrderConfirmed(self.volunteer_id, rating, comment.strip(), credited, by=by,
                                                  at=iso_time(at)))

    def cancel(self, *, reason: str, by: str, at: dt.datetime) -> list[DomainEvent]:
        self._expect((OrderStatus.PLACED, OrderStatus.ACCEPTED, *WAITING_FOR_A_VOLUNTEER), "cancel")
        if not reason.strip():
            raise InvariantViolated("a cancellation says why")
        return self._record(ServiceOrderCancelled(reason.strip(), by=by, at=iso_time(at)))

    # ---- queries -----------------------------------------------------------------------------

    def check_fit(self, volunteer: Volunteer, courses: Courses, grades: Grades, day: dt.date) -> None:
        """The order's gate: NotFitForDuty naming the duty gate's gaps and a grade too low."""
        missing = volunteer.missing_for_domain(self.placed.domain, day, courses)
        held = volunteer.grade_on(grades)
        if grades.rank(held.id) < grades.rank(self.placed.min_grade):
            missing.append(f"grade {self.placed.min_grade} or above (holds {held.id})")
        if missing:
            raise NotFitForDuty(volunteer.id, self.placed.domain, missing)

    def _must_be_for(self, volunteer: Volunteer, team_members: tuple[str, ...]) -> None:
        to = self.assigned_to
        if to is None:
            return
        if to.get("volunteer_id") not in (None, volunteer.id) or (
                to.get("team_id") and volunteer.id not in team_members):
            raise NotPermitted(f"order {self.id} is assigned to someone else")

    def _expect(self, statuses: tuple[OrderStatus, ...], what: str) -> None:
        if not self.exists:
            raise IllegalTransition(f"no order {self.id}")
        if self.status not in statuses:
            raise IllegalTransition(f"cannot {what} order {self.id}: it is {self.status.value}")
