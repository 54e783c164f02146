"""The speed model: great circle × detour at urban speed, plus turnout."""

import math

import pytest

from units.domain.travel import EARTH_RADIUS_M, SpeedModel, great_circle_m

METRES_PER_DEGREE_OF_LATITUDE = math.pi * EARTH_RADIUS_M / 180


def test_three_km_by_hand():
    # 3,000 m × 1.3 = 3,900 m of road; at 30 km/h (8.333 m/s) that is 468 s; plus 60 s turnout = 528 s.
    model = SpeedModel()
    assert model.eta_for_distance("fire_rescue_station", 3_000) == pytest.approx(528.0)
    north = 30.0 + 3_000 / METRES_PER_DEGREE_OF_LATITUDE  # 3 km due north along a meridian
    assert great_circle_m(30.0, 120.0, north, 120.0) == pytest.approx(3_000, abs=0.01)
    assert model.eta_s("fire_rescue_station", north, 120.0, 30.0, 120.0) == pytest.approx(528.0, abs=0.01)


def test_turnout_differs_by_kind_and_every_parameter_is_configurable():
    model = SpeedModel(detour_factor=1.0, speed_kmh=36.0, turnout_s={"street_team": 30.0})
    assert model.eta_for_distance("street_team", 1_000) == pytest.approx(30.0 + 100.0)  # 10 m/s
    assert SpeedModel().turnout("community_squad") > SpeedModel().turnout("fire_rescue_station")


def test_unknown_kinds_and_impossible_parameters_are_refused():
    with pytest.raises(KeyError, match="civil_rescue_team"):
        SpeedModel().turnout("civil_rescue_team")
    with pytest.raises(ValueError, match="detour_factor"):
        SpeedModel(detour_factor=0.9)
    with pytest.raises(ValueError, match="speed_kmh"):
        SpeedModel(speed_kmh=0)
