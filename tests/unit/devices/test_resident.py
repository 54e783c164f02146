"""The Resident aggregate: consent, the community's review, erasure (no infrastructure)."""

import datetime as dt

import pytest

from devices.domain.events import ResidentErased, ResidentRegistered
from devices.domain.resident import Resident
from linkduty_shared.domain import IllegalTransition

T0 = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)


REGISTERED = ResidentRegistered(resident_id="r1", community="C", jurisdiction={"community": "C"}, consent_by="guardian",
                                person_ref="vault-p", summary_ref="vault-s", registered_by="volunteer-7", at=T0.isoformat())


def registered(*events) -> Resident:
    return Resident.rehydrate("r1", [REGISTERED, *events])


def test_a_registration_waits_for_the_community_and_changed_details_are_reviewed_again():
    r = registered()
    assert r.review == "pending" and r.history[0]["by"] == "volunteer-7"
    reviewed = r.review_by_community("confirmed", "visited", by="community-staff", at=T0)
    r = registered(*reviewed)
    assert r.review == "confirmed" and r.history[-1]["note"] == "visited"
    changed = r.change_details(person_ref="vault-p2", summary_ref="vault-s2", by="volunteer-7", at=T0)
    r = registered(*reviewed, *changed)
    assert r.review == "pending" and r.person_ref == "vault-p2" and len(r.history) == 3


def test_an_erased_resident_keeps_its_history_and_refuses_everything_but_a_second_erasure():
    r = registered()
    (erased,) = r.erase(by="dpo", at=T0)
    assert isinstance(erased, ResidentErased) and r.erased and r.history[-1]["step"] == "erased"
    assert r.erase(by="dpo", at=T0) == []
    with pytest.raises(IllegalTransition):
        r.change_details(person_ref="x", summary_ref="y", by="v", at=T0)
    with pytest.raises(IllegalTransition):
        r.review_by_community("confirmed", "", by="c", at=T0)
    with pytest.raises(IllegalTransition):
        r.register(ResidentRegistered(resident_id="r1", community="C", jurisdiction={}, consent_by="self",
                                      person_ref="p", summary_ref="s", registered_by="v", at=T0.isoformat()))
