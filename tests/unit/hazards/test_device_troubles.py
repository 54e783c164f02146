"""A networked detector's trouble as a hazard (no infrastructure): the rule that lets the device
close it again (HazardResolvedAtSource), the category it is filed under, and the text it gets."""

import dataclasses
import datetime as dt

import pytest

from hazards.config import HazardsSettings
from hazards.consumers import is_device_trouble, trouble_place, trouble_text
from hazards.domain.categories import default_taxonomy
from hazards.domain.events import HazardMerged, HazardRejected, HazardResolvedAtSource, ReinspectionConfirmed
from hazards.domain.hazard import Hazard
from linkduty_shared.contracts import hazards as contract
from linkduty_shared.contracts.devices import DeviceLocation, DeviceTroubleBegan
from linkduty_shared.domain import IllegalTransition, InvariantViolated
from tests.unit.hazards import test_hazard as recorded
from tests.unit.hazards.test_hazard import ACCEPTED, ASSIGNED, SUBMITTED, VERIFIED, at, given

DEVICE = dict(source="device", category="detector_maintenance", description="联网烟感离线")


def device_hazard(*events) -> Hazard:
    return given(recorded.reported(**DEVICE), *events)


@pytest.mark.parametrize("status, events", [
    ("reported", ()), ("accepted", (ACCEPTED,)), ("rectifying", (ACCEPTED, ASSIGNED)),
    ("awaiting_verification", (ACCEPTED, ASSIGNED, SUBMITTED)),
])
def test_a_device_hazard_is_closed_by_its_device_from_any_open_status(status, events):
    hazard = device_hazard(*events)
    assert hazard.status == status
    assert hazard.resolve_at_source(how="reported_again", at=at(8)) is True
    assert hazard.pending == [HazardResolvedAtSource(how="reported_again", at=at(8).isoformat())]
    assert hazard.status == "closed" and hazard.closed_at == at(8).isoformat()
    assert hazard.resolved_at_source == "reported_again" and hazard.reinspection_due_at is None
    assert hazard.history[-1].what == "HazardResolvedAtSource"


def test_resolving_it_again_records_nothing():
    hazard = device_hazard(HazardResolvedAtSource(how="battery_ok", at=at(2).isoformat()))
    assert hazard.resolve_at_source(how="battery_ok", at=at(3)) is False
    assert hazard.pending == [] and hazard.closed_at == at(2).isoformat()


@pytest.mark.parametrize("closed_by", [
    (ACCEPTED, ASSIGNED, SUBMITTED, VERIFIED),
    (ACCEPTED, ASSIGNED, SUBMITTED, VERIFIED, ReinspectionConfirmed(by="i", at=at(9).isoformat())),
    (HazardRejected(reason="not_a_hazard", message="误报", by="g", at=at(1).isoformat()),),
    (HazardMerged(into_hazard_id="h0", distance_m=3.0, by="g", at=at(1).isoformat()),),
])
def test_a_device_hazard_no_longer_open_stays_as_a_person_left_it(closed_by):
    hazard = device_hazard(*closed_by)
    status = hazard.status
    assert hazard.resolve_at_source(how="maintained", at=at(10)) is False
    assert hazard.pending == [] and hazard.status == status and hazard.resolved_at_source is None


def test_only_a_hazard_a_device_reported_is_its_device_s_to_close():
    with pytest.raises(IllegalTransition, match="not a device"):
        given(recorded.reported()).resolve_at_source(how="reported_again", at=at(1))
    with pytest.raises(IllegalTransition, match="never reported"):
        Hazard("h9").resolve_at_source(how="reported_again", at=at(1))


def test_resolving_needs_a_known_how_and_a_time_with_its_offset():
    with pytest.raises(InvariantViolated, match="how"):
        device_hazard().resolve_at_source(how="prayed", at=at(1))
    with pytest.raises(InvariantViolated, match="offset"):
        device_hazard().resolve_at_source(how="battery_ok", at=dt.datetime(2026, 6, 1, 12))


def test_a_hazard_resolved_at_its_source_and_reopened_is_open_again_without_the_resolution():
    hazard = device_hazard(HazardResolvedAtSource(how="reported_again", at=at(2).isoformat()))
    hazard.reopen(category=default_taxonomy()["detector_maintenance"], by="i", at=at(3), note="又离线了")
    assert hazard.status == "rectifying" and hazard.resolved_at_source is None and hazard.closed_at is None


def test_the_resolution_is_in_the_public_contract_and_closes_the_hazard_there():
    e = HazardResolvedAtSource(how="maintained", at=at(4).isoformat())
    parsed = contract.hazard_event_from_data("linkduty.hazard.HazardResolvedAtSource", e.to_data())
    assert parsed == contract.HazardResolvedAtSource(how="maintained", at=at(4).isoformat())
    assert contract.STATUS_AFTER_EVENT["HazardResolvedAtSource"] == "closed"
    assert "closed" not in contract.OPEN_STATUSES
    reported = contract.hazard_event_from_data("linkduty.hazard.HazardReported",
                                               recorded.reported(**DEVICE).to_data())
    assert reported.source == "device"


def test_detectors_have_a_maintenance_category_with_deadlines_like_its_neighbours():
    taxonomy = default_taxonomy()
    category = taxonomy["detector_maintenance"]
    assert category.default_severity == "moderate"
    assert category.rectify_within["major"] <= category.rectify_within["moderate"] <= category.rectify_within["minor"]
    assert taxonomy.compatible("detector_maintenance", "fire_equipment_defective")
    assert HazardsSettings().device_troubles_category == "detector_maintenance"


BEGAN = DeviceTroubleBegan(device_id="sd-0042", episode_id="ep-1", trouble="low_battery", model="JTY-GD-01",
                           location=DeviceLocation(lat=30.25, lon=120.15, building="3号楼", floor=5, flat="502"),
                           detail="battery 2.6 V", at=dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC))


def test_the_hazard_s_text_says_the_trouble_the_device_and_its_detail_and_where_in_the_building():
    assert trouble_text(BEGAN) == "联网烟感电量低 (detector battery low): sd-0042 (JTY-GD-01). battery 2.6 V"
    assert trouble_place(BEGAN) == "3号楼 5层 502室"
    bare = dataclasses.replace(BEGAN, detail=" ", location=DeviceLocation(lat=30.25, lon=120.15))
    assert trouble_text(bare).endswith("sd-0042 (JTY-GD-01)") and trouble_place(bare) is None


def test_only_the_trouble_records_are_wanted_from_devices_events():
    assert is_device_trouble("linkduty.device.DeviceTroubleBegan")
    assert is_device_trouble("linkduty.device.DeviceTroubleEnded")
    assert not is_device_trouble("linkduty.device.DeviceAlarmRaised")


def test_a_device_troubles_category_the_taxonomy_lacks_is_refused_at_start_up():
    from hazards.bootstrap import build_app

    with pytest.raises(ValueError, match="device_troubles_category"):
        build_app(HazardsSettings(device_troubles_category="no_such_category"))
