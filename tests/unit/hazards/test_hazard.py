"""The Hazard aggregate: given events → when command → then events (no infrastructure)."""

import datetime as dt

import pytest

from hazards.domain.categories import default_taxonomy
from hazards.domain.events import (
    DuplicateMerged,
    HazardAccepted,
    HazardAssigned,
    HazardEscalated,
    HazardMerged,
    HazardRejected,
    HazardReopened,
    HazardReported,
    RecurrenceFlagged,
    RectificationFailed,
    RectificationSubmitted,
    RectificationVerified,
    ReinspectionConfirmed,
    ReinspectionScheduled,
)
from hazards.domain.hazard import Hazard, merge
from hazards.domain.rules import Recurrence
from linkduty_shared.domain import IllegalTransition, InvariantViolated

T = default_taxonomy()
EBIKE = T["ebike_indoors"]
AT = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
CHAIN = {"grid": "g", "community": "C", "street": "S", "district": "D", "city": "X"}


def reported(hazard_id="h1", category="ebike_indoors", severity="moderate", lat=30.25, **overrides) -> HazardReported:
    facts = dict(hazard_id=hazard_id, at=AT.isoformat(), source="resident_app", category=category,
                 taxonomy_version=T.version, severity=severity, description="楼道里充电",
                 location={"lat": lat, "lon": 120.15, "address": None}, jurisdiction=CHAIN,
                 triage_due_at=(AT + dt.timedelta(hours=24)).isoformat(), reporter_masked="*******5678")
    return HazardReported(**(facts | overrides))


def given(*events, hazard_id="h1") -> Hazard:
    return Hazard.rehydrate(hazard_id, events)


def at(hours: float) -> dt.datetime:
    return AT + dt.timedelta(hours=hours)


ACCEPTED = HazardAccepted(severity="moderate", by="grid-1", at=at(1).isoformat())
ASSIGNED = HazardAssigned(assignee_kind="property_manager", assignee_id="pm-7", due_at=at(25).isoformat(),
                          by="grid-1", at=at(1).isoformat())
SUBMITTED = RectificationSubmitted(note="moved out", by="pm-7", at=at(5).isoformat())
VERIFIED = RectificationVerified(by="inspector-2", at=at(6).isoformat())
SCHEDULED = ReinspectionScheduled(due_at=(at(6) + dt.timedelta(days=7)).isoformat(), at=at(6).isoformat())


def new_report(**overrides) -> Hazard:
    hazard = Hazard("h1")
    facts = dict(category=EBIKE, taxonomy_version=T.version, source="resident_app", severity=None,
                 description="楼道里充电", location={"lat": 30.25, "lon": 120.15, "address": None},
                 jurisdiction=CHAIN, venue_id=None, at=AT, triage_due_at=at(24), duplicate_candidates=[],
                 reporter_masked=None, reporter_ref="ref-1")
    hazard.report(**(facts | overrides))
    return hazard


def test_a_report_takes_the_category_s_default_severity_and_lists_its_duplicate_candidates():
    hazard = new_report(duplicate_candidates=[("h0", 12.345)])
    [e] = hazard.pending
    assert isinstance(e, HazardReported) and e.severity == EBIKE.default_severity == "moderate"
    assert e.duplicate_candidates == ({"hazard_id": "h0", "distance_m": 12.3},)
    assert hazard.status == "reported" and hazard.reporters == 1 and hazard.handling_level == "community"


def test_a_report_repeating_a_closed_hazard_is_flagged_with_the_old_one_linked():
    hazard = new_report(recurrence=Recurrence("old-1", "nearby", 21.04, at(-24 * 30)))
    assert [type(e) for e in hazard.pending] == [HazardReported, RecurrenceFlagged]
    assert hazard.recurrence_of == {"hazard_id": "old-1", "rule": "nearby", "distance_m": 21.0,
                                    "closed_at": at(-24 * 30).isoformat()}


def test_a_report_refuses_a_time_without_offset_and_an_unknown_source():
    with pytest.raises(InvariantViolated, match="offset"):
        new_report(at=dt.datetime(2026, 6, 1, 9))
    with pytest.raises(InvariantViolated, match="source"):
        new_report(source="pigeon")


def test_the_same_hazard_cannot_be_reported_twice():
    with pytest.raises(IllegalTransition):
        given(reported()).report(category=EBIKE, taxonomy_version="t", source="resident_app", severity=None,
                                 description="", location={}, jurisdiction=CHAIN, venue_id=None, at=AT,
                                 triage_due_at=AT, duplicate_candidates=[], reporter_masked=None, reporter_ref=None)


def test_triage_may_accept_at_another_severity():
    hazard = given(reported())
    hazard.accept(by="grid-1", at=at(1), severity="major", note="楼梯间, 住户多")
    assert hazard.pending == [HazardAccepted(severity="major", by="grid-1", at=at(1).isoformat(), note="楼梯间, 住户多")]
    assert hazard.severity == "major" and hazard.status == "accepted"


def test_outside_our_remit_must_say_whose_and_only_it_may():
    with pytest.raises(InvariantViolated, match="whose"):
        given(reported()).reject(by="grid-1", at=at(1), reason="outside_remit", message="燃气公司负责")
    with pytest.raises(InvariantViolated, match="outside_remit only"):
        given(reported()).reject(by="grid-1", at=at(1), reason="not_a_hazard", message="m", refer_to="x")
    with pytest.raises(InvariantViolated, match="reporter"):
        given(reported()).reject(by="grid-1", at=at(1), reason="not_a_hazard", message="  ")
    hazard = given(reported())
    hazard.reject(by="grid-1", at=at(1), reason="outside_remit", message="请联系燃气公司", refer_to="gas utility")
    assert hazard.status == "rejected" and hazard.rejection["refer_to"] == "gas utility"


def test_a_triaged_hazard_cannot_be_triaged_again():
    for done in (ACCEPTED, HazardRejected(reason="not_a_hazard", message="m", by="g", at=at(1).isoformat())):
        with pytest.raises(IllegalTransition):
            given(reported(), done).accept(by="grid-1", at=at(2))
        with pytest.raises(IllegalTransition):
            given(reported(), done).reject(by="grid-1", at=at(2), reason="not_a_hazard", message="m")


def test_assignment_sets_the_deadline_from_category_and_severity():
    hazard = given(reported(severity="major"), HazardAccepted(severity="major", by="g", at=at(1).isoformat()))
    hazard.assign(category=EBIKE, by="grid-1", at=at(1), assignee_kind="venue_contact", assignee_id="v-3")
    [e] = hazard.pending
    assert e.due_at == (at(1) + EBIKE.rectify_within["major"]).isoformat() == at(5).isoformat()
    assert hazard.status == "rectifying" and hazard.assignee == {"kind": "venue_contact", "id": "v-3", "name": None}


def test_an_untriaged_hazard_cannot_be_assigned_nor_with_another_category():
    with pytest.raises(IllegalTransition):
        given(reported()).assign(category=EBIKE, by="g", at=at(1), assignee_kind="community", assignee_id="C")
    with pytest.raises(InvariantViolated, match="not gas_hazard"):
        given(reported(), ACCEPTED).assign(category=T["gas_hazard"], by="g", at=at(1), assignee_kind="community",
                                           assignee_id="C")
    with pytest.raises(InvariantViolated, match="assignee_kind"):
        given(reported(), ACCEPTED).assign(category=EBIKE, by="g", at=at(1), assignee_kind="mayor", assignee_id="C")


def test_a_failed_verification_sends_it_back_with_a_new_deadline_and_counts_the_failures():
    hazard = given(reported(), ACCEPTED, ASSIGNED, SUBMITTED)
    hazard.fail_verification(category=EBIKE, by="inspector-2", at=at(6), note="还在楼道")
    hazard.submit_rectification(by="pm-7", at=at(7), note="已清走")
    hazard.fail_verification(category=EBIKE, by="inspector-2", at=at(8), note="又推回来了")
    failed = [e for e in hazard.pending if isinstance(e, RectificationFailed)]
    assert [e.failures for e in failed] == [1, 2] and hazard.failures == 2
    assert failed[-1].due_at == (at(8) + EBIKE.rectify_within["moderate"]).isoformat()
    assert hazard.status == "rectifying"


def test_a_passed_verification_closes_it_and_schedules_the_re_inspection_by_category():
    hazard = given(reported(), ACCEPTED, ASSIGNED, SUBMITTED)
    hazard.pass_verification(category=EBIKE, by="inspector-2", at=at(6))
    assert [type(e) for e in hazard.pending] == [RectificationVerified, ReinspectionScheduled]
    assert hazard.pending[1].due_at == (at(6) + dt.timedelta(days=EBIKE.reinspect_after.days)).isoformat()
    assert hazard.status == "closed" and hazard.closed_at == at(6).isoformat()


def test_nothing_is_verified_that_was_not_submitted():
    with pytest.raises(IllegalTransition):
        given(reported(), ACCEPTED, ASSIGNED).pass_verification(category=EBIKE, by="i", at=at(6))
    with pytest.raises(IllegalTransition):
        given(reported(), ACCEPTED).submit_rectification(by="pm-7", at=at(2), note="done")


def test_the_re_inspection_confirms_only_once_due_and_reopening_gives_the_same_fixer_a_new_deadline():
    closed = (reported(), ACCEPTED, ASSIGNED, SUBMITTED, VERIFIED, SCHEDULED)
    with pytest.raises(IllegalTransition, match="not due"):
        given(*closed).confirm_reinspection(by="i", at=at(6 + 24))
    confirmed = given(*closed)
    confirmed.confirm_reinspection(by="i", at=at(6) + dt.timedelta(days=7))
    assert confirmed.pending == [ReinspectionConfirmed(by="i", at=(at(6) + dt.timedelta(days=7)).isoformat())]
    assert confirmed.status == "confirmed"
    reopened = given(*closed)
    reopened.reopen(category=EBIKE, by="i", at=at(30), note="又在充电")
    [e] = reopened.pending
    assert isinstance(e, HazardReopened) and e.due_at == (at(30) + EBIKE.rectify_within["moderate"]).isoformat()
    assert reopened.status == "rectifying" and reopened.assignee["id"] == "pm-7" and reopened.closed_at is None
    with pytest.raises(IllegalTransition):
        given(*closed, ReinspectionConfirmed(by="i", at=at(200).isoformat())).reopen(
            category=EBIKE, by="i", at=at(201), note="x")


TRIAGE_WITHIN = {"minor": dt.timedelta(hours=72), "moderate": dt.timedelta(hours=24), "major": dt.timedelta(hours=2)}


def escalate(hazard: Hazard, hours: float) -> bool:
    return hazard.escalate(at=at(hours), category=EBIKE, triage_within=TRIAGE_WITHIN)


def test_untriaged_past_its_deadline_escalates_to_the_street_once_and_the_street_gets_the_window_again():
    hazard = given(reported())  # triage due at +24 h (moderate)
    assert hazard.overdue(at(23.9)) is None and not escalate(hazard, 23.9)
    assert hazard.overdue(at(24)) == ("triage", at(24).isoformat())
    assert escalate(hazard, 25)
    assert not escalate(hazard, 25) and not escalate(hazard, 48)  # the deadline moved to 25 + 24 h
    [e] = hazard.pending
    assert isinstance(e, HazardEscalated)
    assert (e.from_level, e.to_level, e.deadline, e.overdue_since, e.due_at) == (
        "community", "street", "triage", at(24).isoformat(), at(49).isoformat())
    assert hazard.handling_level == "street" and hazard.triage_due_at == at(49).isoformat()
    again = given(reported(), e)  # the same from the events alone (what a restarted process rebuilds)
    assert again.triage_due_at == at(49).isoformat() and again.overdue(at(48)) is None


def test_the_chain_stops_at_the_district():
    hazard = given(reported())
    assert escalate(hazard, 24) and escalate(hazard, 48) and not escalate(hazard, 1000)
    assert [(e.from_level, e.to_level) for e in hazard.pending] == [("community", "street"), ("street", "district")]
    assert hazard.handling_level == "district" and hazard.overdue(at(1000)) is None


def test_an_assigned_hazard_not_rectified_in_time_escalates_by_the_category_window_and_submitting_stops_it():
    hazard = given(reported(), ACCEPTED, ASSIGNED)  # rectification due at +25 h
    assert not escalate(hazard, 24.9)
    assert escalate(hazard, 26)
    [e] = hazard.pending
    assert (e.deadline, e.overdue_since, e.due_at) == ("rectification", at(25).isoformat(), at(50).isoformat())
    assert hazard.rectification_due_at == at(50).isoformat() and hazard.handling_level == "street"
    assert not escalate(hazard, 49.9) and escalate(hazard, 50)  # not fixed at the street either: the district
    submitted = given(reported(), ACCEPTED, ASSIGNED, SUBMITTED)
    assert submitted.overdue(at(100)) is None and not submitted.escalate(at=at(100), category=EBIKE,
                                                                         triage_within=TRIAGE_WITHIN)


@pytest.mark.parametrize("history", [
    (ACCEPTED,),  # triaged in time or late: the triage deadline no longer runs, and no fix is assigned yet
    (HazardRejected(reason="not_a_hazard", message="m", by="g", at=at(1).isoformat()),),
    (HazardMerged(into_hazard_id="h0", distance_m=3.0, by="g", at=at(1).isoformat()),),
    (ACCEPTED, ASSIGNED, SUBMITTED, VERIFIED, SCHEDULED),  # a re-inspection due is not a deadline that escalates
    (ACCEPTED, ASSIGNED, SUBMITTED, VERIFIED, SCHEDULED, ReinspectionConfirmed(by="i", at=at(400).isoformat())),
])
def test_nothing_escalates_once_triaged_when_nothing_is_awaited_or_when_closed(history):
    hazard = given(reported(), *history)
    assert hazard.overdue(at(10_000)) is None
    assert not escalate(hazard, 10_000) and hazard.pending == []


def test_escalation_needs_an_offset_and_the_hazard_s_category():
    with pytest.raises(InvariantViolated):
        given(reported()).overdue(at(30).replace(tzinfo=None))
    with pytest.raises(InvariantViolated):
        given(reported()).escalate(at=at(30), category=T["flying_wire_charging"], triage_within=TRIAGE_WITHIN)



def test_a_merged_report_closes_and_the_open_one_counts_its_reporters():
    duplicate = given(reported("h2", lat=30.2501), DuplicateMerged(duplicate_id="h3", reporters=1, distance_m=3,
                                                                  by="g", at=at(0).isoformat()), hazard_id="h2")
    target = given(reported("h1"), ACCEPTED)
    d = merge(duplicate, target, taxonomy=T, by="grid-1", at=at(2))
    assert 10 < d < 12
    assert duplicate.pending == [HazardMerged(into_hazard_id="h1", distance_m=d, by="grid-1", at=at(2).isoformat())]
    assert target.pending == [DuplicateMerged(duplicate_id="h2", reporters=2, distance_m=d, by="grid-1",
                                              at=at(2).isoformat())]
    assert target.reporters == 3 and duplicate.status == "merged" and duplicate.merged_into == "h1"


def test_a_merge_needs_an_untriaged_duplicate_an_open_target_and_compatible_categories():
    with pytest.raises(IllegalTransition, match="itself"):
        merge(given(reported()), given(reported()), taxonomy=T, by="g", at=at(2))
    with pytest.raises(IllegalTransition):
        merge(given(reported("h2"), ACCEPTED, hazard_id="h2"), given(reported()), taxonomy=T, by="g", at=at(2))
    with pytest.raises(IllegalTransition, match="into hazard h1"):
        merge(given(reported("h2"), hazard_id="h2"),
              given(reported(), HazardRejected(reason="not_a_hazard", message="m", by="g", at=at(1).isoformat())),
              taxonomy=T, by="g", at=at(2))
    with pytest.raises(InvariantViolated, match="same hazard"):
        merge(given(reported("h2", category="gas_hazard"), hazard_id="h2"), given(reported()), taxonomy=T, by="g",
              at=at(2))


def test_the_history_says_what_was_done_and_never_who_reported():
    hazard = given(reported(), ACCEPTED, ASSIGNED, SUBMITTED)
    assert [s.what for s in hazard.history] == ["HazardReported", "HazardAccepted", "HazardAssigned",
                                                "RectificationSubmitted"]
    assert hazard.history[0].by is None and hazard.history[3].note == "moved out"


def test_events_survive_their_stored_form():
    for e in (reported(duplicate_candidates=({"hazard_id": "h0", "distance_m": 3.0},)), ACCEPTED, ASSIGNED,
              SUBMITTED, VERIFIED, SCHEDULED):
        again = type(e).from_data(e.to_data())
        assert again.to_data() == e.to_data()
