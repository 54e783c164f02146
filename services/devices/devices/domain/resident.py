"""The vulnerable-resident registry (易受损人群) and vulnerable premises (脆弱性单元).

A resident is registered with their or their guardian's or the community's consent, by community
staff or a volunteer, and confirmed (or returned) by the community. Who they are and what a
responder needs are both in the vault (the events hold neither); erasure shreds both and the
registration's history stays."""

from __future__ import annotations

import datetime as dt

from linkduty_shared.domain import Aggregate, DomainEvent, IllegalTransition

from devices.domain.events import (
    PremisesRegistered,
    ResidentDetailsChanged,
    ResidentErased,
    ResidentRegistered,
    ResidentReviewed,
)


class Resident(Aggregate):
    stream_type = "resident"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.registered: ResidentRegistered | None = None
        self.person_ref: str | None = None
        self.summary_ref: str | None = None
        self.review: str = "pending"  # pending | confirmed | returned
        self.history: list[dict] = []
        self.erased = False

    @property
    def jurisdiction(self) -> dict:
        return self.registered.jurisdiction if self.registered else {}

    def evolve(self, event: DomainEvent) -> None:
        match event:
            case ResidentRegistered():
                self.registered, self.person_ref, self.summary_ref = event, event.person_ref, event.summary_ref
                self.history.append({"step": "registered", "by": event.registered_by, "at": event.at})
            case ResidentDetailsChanged():
                self.person_ref, self.summary_ref = event.person_ref, event.summary_ref
                self.review = "pending"  # changed details are confirmed again
                self.history.append({"step": "details_changed", "by": event.by, "at": event.at})
            case ResidentReviewed():
                self.review = event.outcome
                self.history.append({"step": event.outcome, "by": event.by, "at": event.at, "note": event.note})
            case ResidentErased():
                self.erased = True
                self.history.append({"step": "erased", "by": event.by, "at": event.at})

    def register(self, registered: ResidentRegistered) -> list[DomainEvent]:
        if self.exists:
            raise IllegalTransition(f"resident {self.id} is registered already")
        return self._record(registered)

    def _refuse_erased(self, what: str) -> None:
        if self.erased:
            raise IllegalTransition(f"resident {self.id} was erased: nothing to {what}")

    def change_details(self, *, person_ref: str, summary_ref: str, by: str, at: dt.datetime) -> list[DomainEvent]:
        self._refuse_erased("change")
        return self._record(ResidentDetailsChanged(person_ref=person_ref, summary_ref=summary_ref, by=by,
                                                   at=at.isoformat()))

    def review_by_community(self, outcome: str, note: str, *, by: str, at: dt.datetime) -> list[DomainEvent]:
        self._refuse_erased("review")
        return self._record(ResidentReviewed(outcome=outcome, note=note, by=by, at=at.isoformat()))

    def erase(self, *, by: str, at: dt.datetime) -> list[DomainEvent]:
        if self.erased:
            return []  # erasing twice asks for what is already true
        return self._record(ResidentErased(by=by, at=at.isoformat()))


class Premises(Aggregate):
    stream_type = "vulnerable_premises"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.registered: PremisesRegistered | None = None

    @property
    def jurisdiction(self) -> dict:
        return self.registered.jurisdiction if self.registered else {}

    def evolve(self, event: DomainEvent) -> None:
        if isinstance(event, PremisesRegistered):
            self.registered = event

    def register(self, registered: PremisesRegistered) -> list[DomainEvent]:
        if self.exists:
            raise IllegalTransition(f"premises {self.id} are registered already")
        return self._record(registered)

    def vulnerability(self) -> dict:
        r = self.registered
        return {"kind": "premises", "premises_kind": r.premises_kind, "occupants": r.occupants,
                "needs": r.needs or None}
