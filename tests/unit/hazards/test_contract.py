"""The hazards.events contract (linkduty_shared.contracts.hazards) against the domain's events:
every event the service records parses under it, and nothing of the vault leaves."""

import dataclasses

import pytest

from hazards.domain.events import HazardReported
from hazards.domain.hazard import Hazard
from hazards.domain.values import OPEN_STATUSES, Status
from linkduty_shared.contracts import ContractViolation
from linkduty_shared.contracts import hazards as contract
from linkduty_shared.domain.event import event_class
from linkduty_shared.events.envelope import VAULT_REF_SUFFIX
from tests.unit.hazards import test_hazard as recorded


def test_every_domain_event_is_in_the_contract_with_the_same_fields_but_the_vault_references():
    for name, public in contract.EVENTS.items():
        domain = event_class(name)
        fields = {f.name for f in dataclasses.fields(domain) if not f.name.endswith(VAULT_REF_SUFFIX)}
        assert fields == {f.name for f in dataclasses.fields(public)}, name


def sample_events():
    """One of every event, as the aggregate records them (the unit tests' history)."""
    r = recorded
    escalated = r.given(r.reported(), r.ACCEPTED, r.ASSIGNED)
    escalated.escalate(at=r.at(30), category=r.EBIKE, triage_within=r.TRIAGE_WITHIN)
    device = r.given(r.reported(source="device", category="detector_maintenance"), r.ACCEPTED)
    device.resolve_at_source(how="reported_again", at=r.at(2))
    return [r.reported(duplicate_candidates=({"hazard_id": "h0", "distance_m": 3.0},)), r.ACCEPTED, r.ASSIGNED,
            *escalated.pending, r.SUBMITTED, r.VERIFIED, r.SCHEDULED, *device.pending]


def test_what_the_aggregate_records_parses_under_the_contract():
    for e in sample_events():
        parsed = contract.hazard_event_from_data(f"linkduty.hazard.{e.event_type}", e.to_data())
        assert type(parsed).__name__ == e.event_type


def test_the_status_after_each_event_is_the_aggregate_s():
    hazard = Hazard.rehydrate("h1", [])
    for e in sample_events():
        hazard.evolve(e)
        if e.event_type in contract.STATUS_AFTER_EVENT:
            assert hazard.status == contract.STATUS_AFTER_EVENT[e.event_type], e.event_type
    assert {s.value for s in OPEN_STATUSES} == contract.OPEN_STATUSES
    assert set(contract.STATUS_AFTER_EVENT.values()) <= {s.value for s in Status}


@pytest.mark.parametrize("event_type, data, where", [
    ("linkduty.hazard.HazardReported", {**recorded.reported().to_data(), "severity": "apocalyptic"}, "severity"),
    ("linkduty.hazard.HazardReported", {**recorded.reported().to_data(), "location": {"lat": 999, "lon": 1}},
     "location.lat"),
    ("linkduty.hazard.HazardEscalated", {"from_level": "city", "to_level": "x", "reason": "", "at": "t"},
     "from_level"),
    ("linkduty.hazard.Nonsense", {}, "no event"),
    ("linkduty.alarm.AlarmReported", {}, "no event"),
])
def test_a_record_breaking_the_contract_is_a_contract_violation(event_type, data, where):
    with pytest.raises(ContractViolation, match=where):
        contract.hazard_event_from_data(event_type, data)


def test_the_vault_reference_is_not_part_of_the_contract():
    parsed = contract.hazard_event_from_data("linkduty.hazard.HazardReported",
                                             HazardReported(**{**recorded.reported().__dict__,
                                                               "reporter_ref": "r-1"}).to_data())
    assert not hasattr(parsed, "reporter_ref")
