"""The four example messages of the OASIS CAP 1.2 specification parse, with their fields intact."""

import datetime as dt

import pytest

from linkduty_shared.cap import CapCircle, CapReference, parse_cap
from tests.unit.cap.samples import OASIS_EXAMPLE_FILES, read_oasis_example

PDT = dt.timezone(dt.timedelta(hours=-7))


def example(name: str):
    return parse_cap(read_oasis_example(name))


@pytest.mark.parametrize("name", OASIS_EXAMPLE_FILES)
def test_every_example_is_there_and_parses(name):
    assert parse_cap(read_oasis_example(name)).infos


def test_homeland_security_advisory():
    alert = example("example1-hsas.xml")
    assert (alert.identifier, alert.sender, alert.msg_type, alert.status, alert.scope) == (
        "43b080713727", "hsas@dhs.gov", "Alert", "Actual", "Public",
    )
    assert alert.sent == dt.datetime(2003, 4, 2, 14, 39, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert alert.sent.utcoffset() == dt.timedelta(hours=-5)  # the sender's offset is kept, not normalised
    (info,) = alert.infos
    assert info.language == "en-US"  # no <language>: CAP's default
    assert (info.categories, info.urgency, info.severity, info.certainty) == (("Security",), "Immediate", "Severe", "Likely")
    assert info.parameters == (("HSAS", "ORANGE"),)
    assert info.instruction.startswith(" A High Condition")  # free text kept exactly, leading space too
    (resource,) = info.resources
    assert (resource.mime_type, resource.uri) == ("image/gif", "http://www.dhs.gov/dhspublic/getAdvisoryImage")
    (area,) = info.areas
    assert area.area_desc == "U.S. nationwide and interests worldwide"
    assert (area.polygons, area.circles, area.geocodes) == ((), (), ())
    assert alert.first_point() is None  # described in words only


def test_severe_thunderstorm_polygon_and_geocodes():
    alert = example("example2-thunderstorm.xml")
    assert (alert.identifier, alert.msg_type) == ("KSTO1055887203", "Alert")
    (info,) = alert.infos
    assert info.response_types == ("Shelter",)
    assert info.event_codes == (("SAME", "SVR"),)
    assert info.expires == dt.datetime(2003, 6, 17, 16, 0, tzinfo=PDT)
    (area,) = info.areas
    assert len(area.polygons) == 1
    ring = area.polygons[0]
    assert ring[0] == (38.47, -120.14)
    assert len(ring) == 5 and ring[0] == ring[-1]
    assert area.geocodes == (("SAME", "006109"), ("SAME", "006009"), ("SAME", "006003"))
    # Vertex average of the four distinct corners (the closing repeat is not counted twice).
    assert alert.first_point() == pytest.approx((38.4875, -119.93))


def test_earthquake_update_references_and_circle():
    alert = example("example3-earthquake-update.xml")
    assert (alert.identifier, alert.msg_type) == ("TRI13970876.2", "Update")
    assert alert.references == (
        CapReference("trinet@caltech.edu", "TRI13970876.1", dt.datetime(2003, 6, 11, 20, 30, tzinfo=PDT)),
    )
    (info,) = alert.infos
    assert (info.categories, info.urgency, info.severity) == (("Geo",), "Past", "Minor")
    assert dict(info.parameters)["Magnitude"] == "3.4 Ml"
    assert len(info.parameters) == 5
    (area,) = info.areas
    assert area.circles == (CapCircle(32.9525, -115.5527, 0.0),)  # a zero radius: "at this point"
    assert alert.first_point() == (32.9525, -115.5527)


def test_amber_alert_in_two_languages():
    alert = example("example4-amber-two-languages.xml")
    assert (alert.identifier, alert.msg_type, alert.source) == ("KAR0-0306112239-SW", "Alert", "SW")
    assert [info.language for info in alert.infos] == ["en-US", "es-US"]
    assert alert.infos[1].event == "Abducción de Niño"
    assert [info.areas[0].geocodes for info in alert.infos] == [(("SAME", "006037"),)] * 2
    assert alert.info_for("es").headline == "Alerta Amber en el condado de Los Ángeles"
    assert alert.info_for("ES-us").language == "es-US"
    assert alert.info_for("zh") is alert.infos[0]  # no Chinese: the first info
    assert alert.info_for("e") is alert.infos[0]  # a prefix is a whole subtag, not any leading letters
    assert alert.first_point() is None  # geocodes only
