"""The units.events contract for joint patrols' findings (linkduty_shared.contracts.units) against
the units domain: what a patrol records parses under it, the kinds are the same, and a record
breaking it is a ContractViolation (dead-lettered by its consumers)."""

import dataclasses

import pytest

from linkduty_shared.contracts import ContractViolation
from linkduty_shared.contracts import units as contract
from units.domain.events import PatrolFindingLogged
from units.domain.patrol import HAZARD_KINDS
from tests.unit.units.test_patrol import PLANNED, STARTED, T0, given


def test_the_contract_lists_the_kinds_units_records():
    assert contract.PATROL_HAZARD_KINDS == HAZARD_KINDS


def test_the_contract_has_the_event_s_fields_and_its_type_is_the_one_units_publishes():
    assert {f.name for f in dataclasses.fields(contract.PatrolFindingLogged)} == {
        f.name for f in dataclasses.fields(PatrolFindingLogged)}
    assert contract.PATROL_FINDING_TYPE == f"linkduty.{given().stream_type}.{PatrolFindingLogged.event_type}"


def test_what_a_patrol_records_parses_under_the_contract_with_or_without_a_location():
    patrol = given(PLANNED, STARTED)
    patrol.log_finding("e-bikes charging in the stairwell", "e_bike_charging", T0, 30.27, 120.15)
    patrol.log_finding("fire lane blocked", "blocked_fire_lane", T0)
    located, indoors = (contract.patrol_finding_from_data(e.to_data()) for e in patrol.pending)
    assert located.located and (located.lat, located.lon, located.hazard_kind) == (30.27, 120.15, "e_bike_charging")
    assert not indoors.located and indoors.text == "fire lane blocked"


GOOD = {"text": "blocked exit", "hazard_kind": "blocked_passage", "at": T0.isoformat(), "lat": 30.27, "lon": 120.15}


@pytest.mark.parametrize("data, where", [
    ({**GOOD, "lon": None}, "both lat and lon"),
    ({**GOOD, "lat": 91}, "lat"),
    ({**GOOD, "text": ""}, "text"),
    ({**GOOD, "text": "x" * 2001}, "text"),
    ({**GOOD, "hazard_kind": "Call 13812345678"}, "hazard_kind"),
    ({k: v for k, v in GOOD.items() if k != "at"}, "at"),
    (["not", "an", "object"], "data"),
])
def test_a_finding_breaking_the_contract_is_a_contract_violation(data, where):
    with pytest.raises(ContractViolation, match=where):
        contract.patrol_finding_from_data(data)


def test_the_patrol_and_the_finding_are_named_by_the_record_s_subject_and_id_both_uuids():
    patrol, finding = "0b9e6f0e-0c1e-4c55-9a8e-5e8a3f1c2d01", "0190f5a4-8c2b-7d3e-9a41-2b6c8d0e1f23"
    assert contract.patrol_finding_ids(patrol.upper(), finding) == (patrol, finding)
    for subject, event_id in ((patrol, "call 13812345678"), ("", finding), ("p-1", finding)):
        with pytest.raises(ContractViolation, match="not a UUID"):
            contract.patrol_finding_ids(subject, event_id)
