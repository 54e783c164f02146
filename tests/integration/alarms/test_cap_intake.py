"""CAP 1.2 through the alarms API: Alert → Update → Cancel on one alarm; hostile and foreign
alerts get a clear 4xx, never a 500."""

from pathlib import Path

import pytest

from linkduty_shared.cap import parse_cap
from linkduty_shared.jurisdictions import Level
from tests.integration.alarms.test_intake import assert_problem

OASIS = Path(__file__).resolve().parents[3].parent / "shared/testdata/cap-1.2-oasis-examples"
CAP = {"content-type": "application/cap+xml"}


def cap_xml(identifier: str, msg_type: str, *, lat: float, lon: float, severity: str = "Moderate",
            references: str | None = None, headline: str = "居民楼起火",
            sent: str = "2026-11-23T08:15:30+08:00") -> bytes:
    refs = f"<references>{references}</references>" if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier><sender>partner@hz119.example.cn</sender>
  <sent>{sent}</sent><status>Actual</status><msgType>{msg_type}</msgType>
  <scope>Restricted</scope><restriction>linked-duty members</restriction>{refs}
  <info><language>zh-CN</language><category>Fire</category><event>建筑火灾</event><urgency>Immediate</urgency>
    <severity>{severity}</severity><certainty>Observed</certainty><headline>{headline}</headline>
    <area><areaDesc>某小区3幢</areaDesc><circle>{lat},{lon} 0.2</circle></area></info>
</alert>""".encode()


@pytest.fixture
def place(city):
    community = city.divisions(level=Level.COMMUNITY)[20]
    return round(community.lat, 6), round(community.lon, 6)


async def test_a_cap_alert_then_its_update_and_cancel_act_on_one_alarm(client, token, place):
    lat, lon = place
    created = await client.post("/v1/alarms", content=cap_xml("HZ-1", "Alert", lat=lat, lon=lon), headers={**token(), **CAP})
    assert created.status_code == 201, created.text
    alarm = created.json()
    assert alarm["source"] == "cap" and alarm["cap"]["identifier"] == "HZ-1" and alarm["severity"] == "moderate"
    ref = "partner@hz119.example.cn,HZ-1,2026-11-23T08:15:30+08:00"
    update = cap_xml("HZ-2", "Update", lat=lat, lon=lon, severity="Extreme", references=ref, headline="火势扩大")
    updated = await client.post("/v1/alarms", content=update, headers={**token(), **CAP})
    assert updated.status_code == 200, updated.text
    assert updated.json()["alarm_id"] == alarm["alarm_id"] and updated.json()["severity"] == "extreme"
    # the Cancel names the Update: it still finds the alarm
    cancel = cap_xml("HZ-3", "Cancel", lat=lat, lon=lon, references="partner@hz119.example.cn,HZ-2,2026-11-23T08:15:30+08:00")
    cancelled = await client.post("/v1/alarms", content=cancel, headers={**token(), **CAP})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["alarm_id"] == alarm["alarm_id"]
    replay = await client.post("/v1/alarms", content=cancel, headers={**token(), **CAP})
    assert_problem(replay, 409, "cap-already-received")


async def test_an_alarm_reads_back_as_cap_1_2(client, token, place):
    lat, lon = place
    alarm = (await client.post("/v1/alarms", json={"source": "119", "kind": "fire", "location": {"lat": lat, "lon": lon}},
                               headers=token())).json()
    r = await client.get(f"/v1/alarms/{alarm['alarm_id']}", headers={**token(), "Accept": "application/cap+xml"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/cap+xml")
    cap = parse_cap(r.content)
    assert cap.msg_type == "Alert" and cap.incidents == (alarm["alarm_id"],)
    assert cap.first_point() == pytest.approx((lat, lon))
    assert dict(cap.infos[0].areas[0].geocodes)["division:community"] == alarm["jurisdiction"]["community"]


async def test_a_cap_alert_or_update_sent_in_the_future_is_refused(client, token, place):
    """A sender's clock far ahead would put its alert on top of every "newest first" list for ever."""
    lat, lon = place
    ahead = "2099-01-01T00:00:00+08:00"
    alert = cap_xml("HZ-F1", "Alert", lat=lat, lon=lon, sent=ahead)
    assert_problem(await client.post("/v1/alarms", content=alert, headers={**token(), **CAP}),
                   422, "received-in-the-future")
    created = await client.post("/v1/alarms", content=cap_xml("HZ-F2", "Alert", lat=lat, lon=lon), headers={**token(), **CAP})
    assert created.status_code == 201, created.text
    update = cap_xml("HZ-F3", "Update", lat=lat, lon=lon, severity="Extreme", sent=ahead,
                     references="partner@hz119.example.cn,HZ-F2,2026-11-23T08:15:30+08:00")
    assert_problem(await client.post("/v1/alarms", content=update, headers={**token(), **CAP}),
                   422, "received-in-the-future")
    unchanged = await client.get(f"/v1/alarms/{created.json()['alarm_id']}", headers=token())
    assert unchanged.json()["severity"] == "moderate" and unchanged.json()["version"] == 1


@pytest.mark.parametrize("example, slug", [
    ("example1-hsas.xml", "cap-without-location"),
    ("example2-thunderstorm.xml", "outside-jurisdiction"),
    ("example3-earthquake-update.xml", "unknown-referenced-alert"),
    ("example4-amber-two-languages.xml", "cap-without-location"),
])
async def test_the_oasis_examples_parse_and_get_a_clear_4xx(client, token, example, slug):
    path = OASIS / example
    assert path.exists(), f"missing test data {path}"
    r = await client.post("/v1/alarms", content=path.read_bytes(), headers={**token(), **CAP})
    assert_problem(r, 422, slug)


async def test_hostile_or_broken_cap_is_refused_with_400(client, token):
    laughs = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&lol3;</alert>"""
    body = assert_problem(await client.post("/v1/alarms", content=laughs, headers={**token(), **CAP}), 400, "invalid-cap")
    assert "DTDs and entities are not allowed" in body["detail"]
    xxe = b"""<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><alert>&x;</alert>"""
    assert_problem(await client.post("/v1/alarms", content=xxe, headers={**token(), **CAP}), 400, "invalid-cap")
    assert_problem(await client.post("/v1/alarms", content=b"<alert", headers={**token(), **CAP}), 400, "invalid-cap")
    missing = b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>'
    assert_problem(await client.post("/v1/alarms", content=missing, headers={**token(), **CAP}), 400, "invalid-cap")
    huge = b"<alert>" + b" " * 300_000 + b"</alert>"
    assert_problem(await client.post("/v1/alarms", content=huge, headers={**token(), **CAP}), 413, "payload-too-large")


async def test_only_the_original_sender_with_operate_scope_may_update_or_cancel(client, token, place):
    lat, lon = place
    assert (await client.post("/v1/alarms", content=cap_xml("HZ-9", "Alert", lat=lat, lon=lon),
                              headers={**token(), **CAP})).status_code == 201
    ref = "partner@hz119.example.cn,HZ-9,2026-11-23T08:15:30+08:00"
    cancel = cap_xml("HZ-10", "Cancel", lat=lat, lon=lon, references=ref)
    reporter_only = await client.post("/v1/alarms", content=cancel, headers={**token("alarms:report"), **CAP})
    assert_problem(reporter_only, 403, "forbidden")
    forged = cancel.replace(b"<sender>partner@hz119.example.cn</sender>", b"<sender>other@example.cn</sender>")
    assert_problem(await client.post("/v1/alarms", content=forged, headers={**token(), **CAP}), 403,
                   "not-the-original-sender")


async def test_an_update_of_a_foreign_alarm_is_answered_as_one_of_an_unknown_alert(client, token, place, city):
    """Before, a district-A partner's Cancel naming an alert behind district B's alarm got a 404
    (or a 422 of another kind) where an unknown one got 422: it learned the alert existed."""
    lat, lon = place
    assert (await client.post("/v1/alarms", content=cap_xml("HZ-20", "Alert", lat=lat, lon=lon),
                              headers={**token(), **CAP})).status_code == 201
    here = city.resolve(lat, lon).district.code
    elsewhere = next(d.code for d in city.divisions(level=Level.DISTRICT) if d.code != here)
    for identifier in ("HZ-20", "HZ-NEVER-SENT"):
        cancel = cap_xml(f"{identifier}-C", "Cancel", lat=lat, lon=lon, sent="2099-01-01T00:00:00+08:00",
                         references=f"partner@hz119.example.cn,{identifier},2026-11-23T08:15:30+08:00")
        answer = await client.post("/v1/alarms", content=cancel, headers={**token(jurisdiction=[elsewhere]), **CAP})
        assert_problem(answer, 422, "unknown-referenced-alert")


async def test_an_update_naming_another_senders_alert_is_refused_on_an_alarm_opened_by_a_call(client, token, place):
    """The alarm came from a 119 call (no CAP sender of its own) and the partner's alert joined it:
    before, anyone naming that alert could cancel the alarm."""
    lat, lon = place
    opened = (await client.post("/v1/alarms", json={"source": "119", "kind": "fire", "location": {"lat": lat, "lon": lon},
                                                    "received_at": "2026-11-23T08:15:00+08:00"},
                                headers=token())).json()
    joined = await client.post("/v1/alarms", content=cap_xml("HZ-30", "Alert", lat=lat, lon=lon), headers={**token(), **CAP})
    assert joined.status_code == 200 and joined.json()["alarm_id"] == opened["alarm_id"]
    ref = "partner@hz119.example.cn,HZ-30,2026-11-23T08:15:30+08:00"
    forged = cap_xml("HZ-31", "Cancel", lat=lat, lon=lon, references=ref).replace(
        b"<sender>partner@hz119.example.cn</sender>", b"<sender>other@example.cn</sender>")
    assert_problem(await client.post("/v1/alarms", content=forged, headers={**token(), **CAP}), 403,
                   "not-the-original-sender")
