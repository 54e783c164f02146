"""What parse_cap refuses, and that each refusal says what is wrong and where."""

import re

import pytest

from linkduty_shared.cap import CapError, CapForbiddenMarkupError, CapTooLargeError, parse_cap
from linkduty_shared.cap.safe_xml import MAX_DEPTH, MAX_ELEMENTS
from tests.unit.cap.samples import MINIMAL, minimal_with

FORBIDDEN = "DTDs and entities are not allowed"


def refusal(data: bytes, error: type[CapError] = CapError) -> str:
    with pytest.raises(error) as caught:
        parse_cap(data)
    return str(caught.value)


def test_the_minimal_alert_itself_is_fine():
    assert parse_cap(MINIMAL.encode()).identifier == "HZ119-0001"


# --- hostile XML -------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE alert [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><note>&lol9;</note></alert>"""


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(
            minimal_with("<alert ", '<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<alert ')
            .replace(b"<scope>Public</scope>", b"<scope>Public</scope><note>&xxe;</note>"),
            id="external-entity-file",
        ),
        pytest.param(
            minimal_with("<alert ", '<!DOCTYPE alert [<!ENTITY % remote SYSTEM "http://203.0.113.9/x.dtd"> %remote;]>\n<alert '),
            id="external-parameter-entity",
        ),
        pytest.param(minimal_with("<alert ", '<!DOCTYPE alert SYSTEM "http://203.0.113.9/cap.dtd">\n<alert '), id="external-dtd"),
        pytest.param(minimal_with("<alert ", "<!DOCTYPE alert>\n<alert "), id="bare-doctype"),
    ],
)
def test_dtds_and_entities_are_refused_before_anything_is_expanded(data):
    assert refusal(data, CapForbiddenMarkupError) == FORBIDDEN


def test_an_entity_reference_without_a_declaration_is_not_xml():
    message = refusal(minimal_with("<event>Fire</event>", "<event>&xxe;</event>"))
    assert message.startswith("not well-formed XML: undefined entity")


def test_oversize_input_is_refused_before_parsing():
    big = minimal_with("<scope>Public</scope>", "<scope>Public</scope><note>" + "火" * 100_000 + "</note>")
    assert len(big) > 256 * 1024
    assert refusal(big, CapTooLargeError) == f"CAP message is {len(big)} bytes; the limit is 262144 bytes"
    small = MINIMAL.encode()
    assert parse_cap(small, max_bytes=len(small)).identifier == "HZ119-0001"
    with pytest.raises(CapTooLargeError, match=rf"limit is {len(small) - 1} bytes"):
        parse_cap(small, max_bytes=len(small) - 1)


def test_deep_nesting_and_element_floods_are_cut_off():
    deep = minimal_with("<scope>Public</scope>", "<scope>Public</scope>" + "<note>" * 50 + "</note>" * 50)
    assert refusal(deep) == f"XML nests deeper than {MAX_DEPTH} elements; CAP needs far fewer"
    flood = minimal_with("<scope>Public</scope>", "<scope>Public</scope>" + "<code>x</code>" * MAX_ELEMENTS)
    assert len(flood) < 256 * 1024
    assert refusal(flood) == f"XML has more than {MAX_ELEMENTS} elements"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "not well-formed XML: no element found: line 1, column 0"),
        (b"alert: fire", "not well-formed XML: syntax error: line 1, column 0"),
        (b'{"identifier": "x"}', "not well-formed XML: not well-formed (invalid token): line 1, column 0"),
        (MINIMAL.encode()[:-20], "not well-formed XML: no element found"),
        (MINIMAL.replace("Hangzhou", "杭州").encode("gb18030"), "not well-formed XML: not well-formed (invalid token)"),
        (
            MINIMAL.replace('encoding="UTF-8"', 'encoding="GBK"').replace("Hangzhou", "杭州").encode("gbk"),
            "cannot read the XML (multi-byte encodings are not supported); send CAP as UTF-8",
        ),
        (
            MINIMAL.replace('encoding="UTF-8"', 'encoding="no-such-charset"').encode(),
            "cannot read the XML (unknown encoding: no-such-charset); send CAP as UTF-8",
        ),
    ],
)
def test_not_xml(data, message):
    assert refusal(data).startswith(message)


def test_input_must_be_bytes():
    with pytest.raises(TypeError, match="bytes, not str"):
        parse_cap(MINIMAL)


# --- root and namespace ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "old, new, message",
    [
        ('<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">', "<alert>",
         '<alert> is in no namespace; CAP 1.2 needs xmlns="urn:oasis:names:tc:emergency:cap:1.2"'),
        ("urn:oasis:names:tc:emergency:cap:1.2", "http://www.incident.com/cap/1.0",
         "<alert> is in namespace 'http://www.incident.com/cap/1.0'; CAP 1.2 needs"),
        ('<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">', '<cap:alert xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">',
         "not well-formed XML: mismatched tag"),
    ],
)
def test_wrong_root_or_namespace(old, new, message):
    assert refusal(minimal_with(old, new)).startswith(message)


def test_root_must_be_alert():
    data = b'<message xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>'
    assert refusal(data) == "the root element is <message>; a CAP message is an <alert>"


def test_prefixed_cap_is_fine_but_children_must_share_the_namespace():
    prefixed = re.sub(r"<(/?)(\w)", r"<\1cap:\2", MINIMAL.split("\n", 1)[1]).replace("xmlns=", "xmlns:cap=")
    assert parse_cap(prefixed.encode()) == parse_cap(MINIMAL.encode())
    stray = minimal_with("<scope>Public</scope>", '<scope>Public</scope><note xmlns="">hi</note>')
    assert refusal(stray) == "alert: element <note> is in no namespace, not the CAP namespace"


def test_an_xml_signature_under_alert_is_skipped_but_foreign_elements_elsewhere_are_not():
    signature = '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/><SignatureValue>AA==</SignatureValue></Signature>'
    signed = minimal_with("</info>\n</alert>", f"</info>\n{signature}\n</alert>")
    assert parse_cap(signed) == parse_cap(MINIMAL.encode())
    foreign = minimal_with("<event>Fire</event>", '<event>Fire</event><x:tag xmlns:x="urn:example:x">1</x:tag>')
    assert refusal(foreign) == "alert/info[1]: element <tag> is in namespace 'urn:example:x', not the CAP namespace"


# --- structure ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "element, path",
    [
        ("identifier", "alert"),
        ("sender", "alert"),
        ("sent", "alert"),
        ("status", "alert"),
        ("msgType", "alert"),
        ("scope", "alert"),
        ("category", "alert/info[1]"),
        ("event", "alert/info[1]"),
        ("urgency", "alert/info[1]"),
        ("severity", "alert/info[1]"),
        ("certainty", "alert/info[1]"),
        ("areaDesc", "alert/info[1]/area[1]"),
    ],
)
def test_each_missing_required_element_is_named(element, path):
    data = re.sub(rf"\s*<{element}>[^<]*</{element}>", "", MINIMAL, count=1).encode()
    assert refusal(data) == f"{path}: missing required element <{element}>"


def test_empty_required_element():
    assert refusal(minimal_with("<event>Fire</event>", "<event> </event>")) == "alert/info[1]/event: must not be empty"
    assert refusal(minimal_with("<identifier>HZ119-0001</identifier>", "<identifier/>")) == (
        "alert/identifier: must not be empty"
    )


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("<scope>Public</scope>", "<scope>Public</scope><priority>1</priority>", "alert: unexpected element <priority>"),
        ("<event>Fire</event>", "<event>Fire</event><event>Smoke</event>", "alert/info[1]: <event> appears 2 times; CAP allows it once"),
        ("<event>Fire</event>", "<event>Fire<b>!</b></event>", "alert/info[1]/event: must hold text, not elements"),
        ("<scope>Public</scope>", "<scope>Public</scope> stray words", "alert: unexpected text 'stray words' between elements"),
        ("<identifier>HZ119-0001</identifier>", "<identifier>HZ119 0001</identifier>",
         "alert/identifier: 'HZ119 0001' contains ' '; CAP forbids spaces, commas, '<' and '&' in identifiers and senders"),
        ("<sender>zhihui@hz119.example.cn</sender>", "<sender>hz119,fire</sender>",
         "alert/sender: 'hz119,fire' contains ','"),
        ("<scope>Public</scope>", "<scope>Private</scope>", "alert: <addresses> is required when <scope> is Private"),
        ("</areaDesc>", "</areaDesc><ceiling>100</ceiling>", "alert/info[1]/area[1]: <ceiling> may only be used together with <altitude>"),
        ("</areaDesc>", "</areaDesc><altitude>high</altitude>", "alert/info[1]/area[1]/altitude: 'high' is not a decimal number"),
        ("<category>Fire</category>", "<category>Fire</category><language>中文</language>",
         "alert/info[1]/language: '中文' is not a language tag like zh-CN or en-US"),
    ],
)
def test_structure_errors(old, new, message):
    assert refusal(minimal_with(old, new)).startswith(message)


# --- enumerations ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "old, new, message",
    [
        ("<status>Actual</status>", "<status>Real</status>", "alert/status: 'Real' is not one of Actual, Exercise, System, Test, Draft"),
        ("<status>Actual</status>", "<status>actual</status>", "alert/status: 'actual' is not one of Actual,"),
        ("<msgType>Alert</msgType>", "<msgType>Notice</msgType>", "alert/msgType: 'Notice' is not one of Alert, Update, Cancel, Ack, Error"),
        ("<scope>Public</scope>", "<scope>Everyone</scope>", "alert/scope: 'Everyone' is not one of Public, Restricted, Private"),
        ("<category>Fire</category>", "<category>Fire</category><category>Flood</category>",
         "alert/info[1]/category[2]: 'Flood' is not one of Geo, Met, Safety, Security, Rescue, Fire, Health, Env, "
         "Transport, Infra, CBRNE, Other"),
        ("<event>Fire</event>", "<event>Fire</event><responseType>Run</responseType>",
         "alert/info[1]/responseType[1]: 'Run' is not one of Shelter, Evacuate, Prepare, Execute, Avoid, Monitor, "
         "Assess, AllClear, None"),
        ("<urgency>Immediate</urgency>", "<urgency>Now</urgency>",
         "alert/info[1]/urgency: 'Now' is not one of Immediate, Expected, Future, Past, Unknown"),
        ("<severity>Severe</severity>", "<severity>Huge</severity>",
         "alert/info[1]/severity: 'Huge' is not one of Extreme, Severe, Moderate, Minor, Unknown"),
        ("<certainty>Observed</certainty>", "<certainty>Very Likely</certainty>",
         "alert/info[1]/certainty: 'Very Likely' is not one of Observed, Likely, Possible, Unlikely, Unknown"),
    ],
)
def test_bad_enumerations(old, new, message):
    assert refusal(minimal_with(old, new)).startswith(message)


def test_enumerations_may_be_padded_with_whitespace():
    assert parse_cap(minimal_with("<status>Actual</status>", "<status>\n    Actual\n  </status>")).status == "Actual"


# --- datetimes ---------------------------------------------------------------------------------

SENT = "<sent>2026-11-23T08:15:30+08:00</sent>"
EXAMPLE = "e.g. 2003-04-02T14:39:01-05:00"


@pytest.mark.parametrize(
    "sent, message",
    [
        ("2026-11-23T08:15:30", f"'2026-11-23T08:15:30' has no timezone offset; CAP needs one, {EXAMPLE}"),
        ("2026-11-23T08:15:30.250", "'2026-11-23T08:15:30.250' has no timezone offset"),
        ("2026-11-23T00:15:30Z", f"'2026-11-23T00:15:30Z': CAP does not allow 'Z'; write UTC as -00:00, {EXAMPLE}"),
        ("2026-11-23T08:15:30.5+08:00", "'2026-11-23T08:15:30.5+08:00' is not a CAP datetime like 2003-04-02T14:39:01-05:00"),
        ("2026-11-23 08:15:30+08:00", "'2026-11-23 08:15:30+08:00' is not a CAP datetime"),
        ("2026-11-23T08:15:30+0800", "'2026-11-23T08:15:30+0800' is not a CAP datetime"),
        ("２０２６-11-23T08:15:30+08:00", "'２０２６-11-23T08:15:30+08:00' is not a CAP datetime"),
        ("2026-02-30T08:15:30+08:00", "'2026-02-30T08:15:30+08:00' is not a valid date and time (day is out of range"),
        ("2026-11-23T24:00:00+08:00", "'2026-11-23T24:00:00+08:00' is not a valid date and time"),
        ("2026-11-23T08:15:30+24:00", "'2026-11-23T08:15:30+24:00' is not a valid date and time"),
    ],
)
def test_bad_sent(sent, message):
    assert refusal(minimal_with(SENT, f"<sent>{sent}</sent>")).startswith(f"alert/sent: {message}")


def test_info_datetimes_are_checked_too():
    data = minimal_with("<effective>2026-11-23T08:15:30+08:00</effective>", "<effective>2026-11-23T08:15:30</effective>")
    assert refusal(data).startswith("alert/info[1]/effective: '2026-11-23T08:15:30' has no timezone offset")


# --- references --------------------------------------------------------------------------------

@pytest.mark.parametrize("msg_type, verb", [("Update", "updates"), ("Cancel", "cancels")])
def test_update_and_cancel_need_references(msg_type, verb):
    data = minimal_with("<msgType>Alert</msgType>", f"<msgType>{msg_type}</msgType>")
    assert refusal(data) == f"alert: an {msg_type} must name the message(s) it {verb} in <references>"
    empty = minimal_with("<msgType>Alert</msgType>", f"<msgType>{msg_type}</msgType><references> </references>")
    assert refusal(empty) == f"alert: an {msg_type} must name the message(s) it {verb} in <references>"


@pytest.mark.parametrize(
    "references, message",
    [
        ("hz119,HZ119-0000", "'hz119,HZ119-0000' is not a 'sender,identifier,sent' triple"),
        ("hz119,HZ119-0000,2026-11-23T08:00:00+08:00,extra",
         "'hz119,HZ119-0000,2026-11-23T08:00:00+08:00,extra' is not a 'sender,identifier,sent' triple"),
        ("hz119,HZ119-0000,2026-11-23T08:00:00",
         f"'2026-11-23T08:00:00' has no timezone offset; CAP needs one, {EXAMPLE}"),
        ("hz119,,2026-11-23T08:00:00+08:00", "identifier is empty"),
        ("hz119,HZ119-0000,2026-11-23T08:00:00+08:00 oops", "'oops' is not a 'sender,identifier,sent' triple"),
        ("hz119, HZ119-0000, 2026-11-23T08:00:00+08:00", "'hz119,' is not a 'sender,identifier,sent' triple"),
    ],
)
def test_malformed_references(references, message):
    data = minimal_with("<msgType>Alert</msgType>", f"<msgType>Update</msgType><references>{references}</references>")
    assert refusal(data) == f"alert/references: {message}"


def test_an_update_naming_thousands_of_messages_is_refused():
    """6,000 references had cost 6,000 queries of the alarms service's database."""
    refs = " ".join(f"hz119,HZ119-{i:04d},2026-11-23T08:00:00+08:00" for i in range(6000))
    data = minimal_with("<msgType>Alert</msgType>", f"<msgType>Update</msgType><references>{refs}</references>")
    assert refusal(data) == "alert/references: 6000 references; at most 100 are accepted"


def test_several_references_are_read_in_order():
    refs = "a@x,ID-1,2026-11-23T08:00:00+08:00\n    b@y,ID-2,2026-11-23T09:00:00-00:00"
    alert = parse_cap(minimal_with("<msgType>Alert</msgType>", f"<msgType>Cancel</msgType><references>{refs}</references>"))
    assert [(ref.sender, ref.identifier) for ref in alert.references] == [("a@x", "ID-1"), ("b@y", "ID-2")]


# --- geometry ----------------------------------------------------------------------------------

POLYGON = "<polygon>30.2,120.1 30.2,120.2 30.3,120.2 30.2,120.1</polygon>"
CIRCLE = "<circle>30.27,120.15 0.5</circle>"


@pytest.mark.parametrize(
    "polygon, message",
    [
        ("30.2,120.1 30.2,120.2 30.2,120.1", "a polygon needs at least 4 'lat,lon' pairs (a closed ring), got 3"),
        ("", "a polygon needs at least 4 'lat,lon' pairs (a closed ring), got 0"),
        ("30.2,120.1 30.2,120.2 30.3,120.2 30.3,120.1", "a polygon must be closed: its first and last points must be the same"),
        ("91,120.1 30.2,120.2 30.3,120.2 91,120.1", "latitude 91 is outside [-90, 90]"),
        ("30.2,180.5 30.2,120.2 30.3,120.2 30.2,180.5", "longitude 180.5 is outside [-180, 180]"),
        ("30.2 120.1 30.2 120.2 30.3 120.2 30.2 120.1", "'30.2' is not a 'lat,lon' pair"),
        ("30.2,120.1,0 30.2,120.2,0 30.3,120.2,0 30.2,120.1,0", "'30.2,120.1,0' is not a 'lat,lon' pair"),
        ("nan,120.1 30.2,120.2 30.3,120.2 nan,120.1", "'nan' is not a decimal number"),
        ("1e1,120.1 30.2,120.2 30.3,120.2 1e1,120.1", "'1e1' is not a decimal number"),
    ],
)
def test_malformed_polygon(polygon, message):
    data = minimal_with(POLYGON, f"{POLYGON}<polygon>{polygon}</polygon>")
    assert refusal(data) == f"alert/info[1]/area[1]/polygon[2]: {message}"


@pytest.mark.parametrize(
    "circle, message",
    [
        ("30.27,120.15", "'30.27,120.15' is not 'lat,lon radius_km'"),
        ("30.27,120.15 0.5 km", "'30.27,120.15 0.5 km' is not 'lat,lon radius_km'"),
        ("30.27,120.15,0.5", "'30.27,120.15,0.5' is not 'lat,lon radius_km'"),
        ("30.27 120.15 0.5", "'30.27 120.15 0.5' is not 'lat,lon radius_km'"),
        ("30.27,120.15 -1", "radius -1 is negative"),
        ("30.27,120.15 inf", "'inf' is not a decimal number"),
        ("-90.5,120.15 1", "latitude -90.5 is outside [-90, 90]"),
        ("30.27,-181 1", "longitude -181 is outside [-180, 180]"),
    ],
)
def test_malformed_circle(circle, message):
    data = minimal_with(CIRCLE, f"<circle>{circle}</circle>")
    assert refusal(data) == f"alert/info[1]/area[1]/circle[1]: {message}"


def test_boundary_coordinates_are_fine():
    ring = "-90,-180 -90,180 90,180 90,-180 -90,-180"
    area = parse_cap(minimal_with(POLYGON, f"<polygon>{ring}</polygon>")).infos[0].areas[0]
    assert area.polygons[0][1] == (-90.0, 180.0)
