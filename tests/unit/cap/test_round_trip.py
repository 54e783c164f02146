"""to_cap_xml writes what parse_cap reads back unchanged, in the CAP 1.2 XSD's element order."""

import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from linkduty_shared.cap import CAP_1_2_NAMESPACE, CapError, parse_cap, to_cap_xml
from tests.unit.cap.samples import HANGZHOU_FIRE, MINIMAL, OASIS_EXAMPLE_FILES, minimal_with, read_oasis_example

XSD_ORDER = {
    "alert": "identifier sender sent status msgType source scope restriction addresses code note references "
    "incidents info".split(),
    "info": "language category event responseType urgency severity certainty audience eventCode effective onset "
    "expires senderName headline description instruction web contact parameter resource area".split(),
    "area": "areaDesc polygon circle geocode altitude ceiling".split(),
    "resource": "resourceDesc mimeType size uri derefUri digest".split(),
}
SAMPLES = [pytest.param(lambda name=name: read_oasis_example(name), id=name) for name in OASIS_EXAMPLE_FILES] + [
    pytest.param(HANGZHOU_FIRE.read_bytes, id="hangzhou-fire-119"),
    pytest.param(MINIMAL.encode, id="minimal"),
]


@pytest.mark.parametrize("read", SAMPLES)
def test_parse_of_serialized_equals_the_original(read):
    alert = parse_cap(read())
    xml = to_cap_xml(alert)
    assert parse_cap(xml) == alert
    assert to_cap_xml(parse_cap(xml)) == xml  # and serializing is stable


@pytest.mark.parametrize("read", SAMPLES)
def test_output_is_utf8_cap_1_2_in_xsd_order(read):
    xml = to_cap_xml(parse_cap(read()))
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">')
    xml.decode("utf-8")

    def check_order(element: ET.Element) -> None:
        name = element.tag.removeprefix(f"{{{CAP_1_2_NAMESPACE}}}")
        if name in XSD_ORDER:
            positions = [XSD_ORDER[name].index(child.tag.split("}")[1]) for child in element]
            assert positions == sorted(positions), f"children of <{name}> out of XSD order"
        for child in element:
            check_order(child)

    check_order(ET.fromstring(xml))


def test_cap_1_1_is_read_and_written_back_as_1_2():
    cap_1_1 = MINIMAL.replace("emergency:cap:1.2", "emergency:cap:1.1").encode()
    alert = parse_cap(cap_1_1)
    assert alert == parse_cap(MINIMAL.encode())
    assert b'xmlns="urn:oasis:names:tc:emergency:cap:1.2"' in to_cap_xml(alert)


def test_utc_is_written_minus_zero_and_offsets_are_kept():
    alert = parse_cap(minimal_with("2026-11-23T08:15:30+08:00</sent>", "2026-11-23T00:15:30+00:00</sent>"))
    assert alert.sent == dt.datetime(2026, 11, 23, 0, 15, 30, tzinfo=dt.UTC)
    assert b"<sent>2026-11-23T00:15:30-00:00</sent>" in to_cap_xml(alert)
    assert b"<effective>2026-11-23T08:15:30+08:00</effective>" in to_cap_xml(alert)
    half_hour = dt.timezone(dt.timedelta(hours=-3, minutes=-30))  # Newfoundland
    later = dataclasses.replace(alert, sent=dt.datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=half_hour))
    assert b"<sent>2026-01-02T03:04:05-03:30</sent>" in to_cap_xml(later)  # no fractions in CAP


def test_numbers_are_written_without_exponents():
    tiny = minimal_with("<circle>30.27,120.15 0.5</circle>", "<circle>0.00001,-0.000002 1000000</circle>")
    xml = to_cap_xml(parse_cap(tiny))
    assert b"<circle>0.00001,-0.000002 1000000</circle>" in xml
    assert parse_cap(xml) == parse_cap(tiny)


def test_special_characters_survive():
    text = "a < b & c > d\r\n第二行 \"引号\" 'x'"
    alert = parse_cap(minimal_with("<event>Fire</event>", "<event>a &lt; b &amp; c &gt; d&#13;\n第二行 \"引号\" 'x'</event>"))
    assert alert.infos[0].event == text
    assert parse_cap(to_cap_xml(alert)).infos[0].event == text


def test_what_xml_cannot_carry_is_refused_when_writing():
    alert = parse_cap(MINIMAL.encode())
    naive = dataclasses.replace(alert, sent=dt.datetime(2026, 11, 23, 8, 0))
    with pytest.raises(CapError, match=r"<sent>: .* has no timezone"):
        to_cap_xml(naive)
    control = dataclasses.replace(alert, note="bell\x07")
    with pytest.raises(CapError, match=r"<note> contains U\+0007"):
        to_cap_xml(control)
