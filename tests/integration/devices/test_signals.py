"""The signal intake over HTTP against the real PostgreSQL and Kafka: what a signed signal
records and publishes on devices.events, and what is refused (forged, replayed, unknown,
malformed) without anything written."""

from __future__ import annotations

import asyncio
import datetime as dt

from linkduty_shared.contracts.devices import device_event_from_data
from linkduty_shared.events.envelope import Envelope, envelope_from_kafka
from tests.conftest import eventually
from tests.integration.devices.conftest import SECRET, registered, send, signal, signed
from tests.support.kafka import read_topic


def envelopes(records) -> list[Envelope]:
    return [envelope_from_kafka(r.headers, r.key, r.value) for r in records]


async def test_a_signed_smoke_alarm_is_published_with_the_vulnerability_and_no_name(client, token, city,
                                                                                    kafka_bootstrap, devices_topic):
    device_id, _ = await registered(client, token, city)
    r = await send(client, device_id, "smoke_alarm")
    assert r.status_code == 202, r.text
    assert r.json()["decided"] == ["DeviceAlarmRaised"]
    records = await read_topic(kafka_bootstrap, devices_topic, until_count=4)  # registered, linked, installed, raised
    raised = [e for e in envelopes(records) if e.type == "linkduty.device.DeviceAlarmRaised"]
    assert len(raised) == 1 and raised[0].subject == device_id
    event = device_event_from_data(raised[0].type, raised[0].data)
    assert event.place == "home" and event.location.floor == 5 and event.location.flat == "502"
    assert event.vulnerability.age_band == "80_89" and event.vulnerability.lives_alone
    assert event.vulnerability.oxygen_at_home and event.vulnerability.mobility == "needs_help_on_stairs"
    assert "13900001111" not in (event.vulnerability.needs or "")  # scrubbed at the source
    for record in records:
        assert "王" not in record.value.decode() and "330102194401011234" not in record.value.decode()
        assert "13812345678" not in record.value.decode()
    assert raised[0].divisions and city.city.code in raised[0].divisions.split()


async def test_a_flooding_detector_is_one_episode_with_a_counter(client, token, city):
    device_id, _ = await registered(client, token, city, with_resident=False)
    decided = [(await send(client, device_id, "smoke_alarm")).json()["decided"] for _ in range(30)]
    assert decided[0] == ["DeviceAlarmRaised"] and all(d == [] for d in decided[1:])
    r = await client.get(f"/v1/devices/{device_id}", headers=token())
    assert r.json()["state"]["alarm_repeats"] == 30 and r.json()["open_alarm"] is not None
    cleared = await send(client, device_id, "alarm_cleared")
    assert cleared.json()["decided"] == ["DeviceAlarmCleared"]
    assert (await client.get(f"/v1/devices/{device_id}", headers=token())).json()["open_alarm"] is None


async def test_an_alarm_cleared_at_once_is_a_possible_false_alarm_and_a_long_one_is_not(client, token, city,
                                                                                       kafka_bootstrap, devices_topic):
    quick, _ = await registered(client, token, city, with_resident=False)
    slow, _ = await registered(client, token, city, with_resident=False)
    now = dt.datetime.now(dt.UTC)
    for device_id, type_, at in ((quick, "smoke_alarm", now - dt.timedelta(seconds=30)), (quick, "alarm_cleared", now),
                                 (slow, "smoke_alarm", now - dt.timedelta(seconds=600)), (slow, "alarm_cleared", now)):
        r = await send(client, device_id, type_, at=at)
        assert r.status_code == 202 and r.json()["decided"], r.text
    def cleared_of(records) -> dict[str, dict]:
        return {e.subject: e.data for e in envelopes(records) if e.type == "linkduty.device.DeviceAlarmCleared"}

    cleared = cleared_of(await read_topic(kafka_bootstrap, devices_topic, until=lambda rs: len(cleared_of(rs)) == 2))
    assert cleared[quick]["possible_false_alarm"] is True and cleared[quick]["after_s"] == 30
    assert cleared[slow]["possible_false_alarm"] is False


async def test_a_forged_signature_a_replay_and_an_unknown_platform_are_refused_and_record_nothing(client, token, city):
    device_id, _ = await registered(client, token, city, with_resident=False)
    sid, body = signal(device_id, "smoke_alarm")
    forged = signed(sid, body, secret="Zm9yZ2VkIGJ5IHNvbWVib2R5IGVsc2UgZW50aXJlbHk=")
    r = await client.post("/v1/device-signals", content=body, headers=forged)
    assert r.status_code == 401 and r.json()["type"].endswith("bad-signature")
    stale = signed(sid, body, timestamp=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    assert (await client.post("/v1/device-signals", content=body, headers=stale)).status_code == 401
    tampered = signed(sid, body)
    r = await client.post("/v1/device-signals", content=body.replace(b"smoke_alarm", b"heartbeat"), headers=tampered)
    assert r.status_code == 401
    r = await client.post("/v1/device-signals", content=body, headers=signed(sid, body, platform="nobody"))
    assert r.status_code == 401 and r.json()["type"].endswith("unknown-platform")
    assert (await client.get(f"/v1/devices/{device_id}", headers=token())).json()["open_alarm"] is None
    first = await client.post("/v1/device-signals", content=body, headers=signed(sid, body))
    assert first.status_code == 202
    again = await client.post("/v1/device-signals", content=body, headers=signed(sid, body))
    assert again.status_code == 409 and again.json()["type"].endswith("signal-replayed")
    assert (await client.get(f"/v1/devices/{device_id}", headers=token())).json()["state"]["alarm_repeats"] == 1


async def test_a_heartbeat_not_newer_than_the_last_is_a_replay(client, token, city):
    device_id, _ = await registered(client, token, city, with_resident=False)
    at = dt.datetime.now(dt.UTC)
    assert (await send(client, device_id, "heartbeat", at=at)).status_code == 202
    r = await send(client, device_id, "heartbeat", at=at)
    assert r.status_code == 409
    assert (await send(client, device_id, "heartbeat", at=at + dt.timedelta(seconds=1))).status_code == 202


async def test_heartbeats_arriving_together_are_written_together_each_with_its_own_outcome(client, token, city,
                                                                                         devices_app):
    devices = [(await registered(client, token, city, with_resident=False))[0] for _ in range(5)]
    at = dt.datetime.now(dt.UTC)
    batches = devices_app.state.intake.heartbeats.batches
    sent = [send(client, d, "heartbeat", at=at, battery_pct=90) for d in devices]
    sent += [send(client, devices[0], "heartbeat", at=at),  # the same heartbeat twice at once: one replay
             send(client, devices[1], "heartbeat", at=at + dt.timedelta(seconds=1)),  # a newer one: taken too
             send(client, "det-nobody", "heartbeat", at=at)]  # unknown, in the same batch
    codes = [r.status_code for r in await asyncio.gather(*sent)]
    assert codes == [202] * 5 + [409, 202, 422], codes
    assert devices_app.state.intake.heartbeats.batches - batches <= 3  # not one transaction each
    for d in devices:
        state = (await client.get(f"/v1/devices/{d}", headers=token())).json()["state"]
        assert state["battery_pct"] == 90 and state["online"], state


async def test_unknown_devices_and_malformed_bodies_are_422(client, token, city):
    device_id, _ = await registered(client, token, city, with_resident=False)
    r = await send(client, "det-nobody", "smoke_alarm")
    assert r.status_code == 422 and r.json()["type"].endswith("unknown-device")
    for body in (b'{"device_id": "x"}', b"not json", b'{"device_id": "%s", "type": "explosion", "at": "2026-01-01T00:00:00Z"}'
                 % device_id.encode(), b'{"device_id": "%s", "type": "heartbeat", "at": "2026-01-01T00:00:00"}' % device_id.encode()):
        r = await client.post("/v1/device-signals", content=body, headers=signed("sig-malformed", body))
        assert r.status_code == 422, (body, r.text)
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    r = await send(client, device_id, "smoke_alarm", at=future)
    assert r.status_code == 422 and r.json()["type"].endswith("signal-in-the-future")
    assert (await client.get(f"/v1/devices/{device_id}", headers=token())).json()["open_alarm"] is None


async def test_a_silent_device_goes_offline_once_and_a_heartbeat_brings_it_back(client, token, city, kafka_bootstrap,
                                                                              devices_topic):
    device_id, _ = await registered(client, token, city, with_resident=False, heartbeat_period_s=3600)
    # Registered now: silent for hours yet. Pretend its last signal is long past.
    async with client._transport.app.state.runtime.pool.acquire() as conn:
        await conn.execute("UPDATE device_state SET silent_after = now() - interval '1 second' WHERE device_id = $1",
                           device_id)

    async def offline() -> bool:
        return "offline" in (await client.get(f"/v1/devices/{device_id}", headers=token())).json()["troubles"]

    await eventually(offline, what="the sweep marks it offline")
    r = await send(client, device_id, "heartbeat", battery_pct=80)
    assert r.json()["decided"] == ["DeviceTroubleEnded"]
    state = (await client.get(f"/v1/devices/{device_id}", headers=token())).json()
    assert state["troubles"] == {} and state["state"]["online"]

    def troubles(records) -> list[tuple[str, str]]:
        return [(e.type.rsplit(".", 1)[1], e.data["trouble"]) for e in envelopes(records) if "Trouble" in e.type]

    # The sweep keeps running: a second offline episode would show up in the grace read.
    records = await read_topic(kafka_bootstrap, devices_topic, until=lambda rs: len(troubles(rs)) >= 2)
    await asyncio.sleep(1)
    records = await read_topic(kafka_bootstrap, devices_topic, until_count=len(records))
    assert troubles(records) == [("DeviceTroubleBegan", "offline"), ("DeviceTroubleEnded", "offline")]


async def test_low_battery_opens_a_trouble_that_a_good_heartbeat_or_a_new_battery_ends(client, token, city):
    device_id, _ = await registered(client, token, city, with_resident=False)
    assert (await send(client, device_id, "heartbeat", battery_pct=12)).json()["decided"] == ["DeviceTroubleBegan"]
    assert (await send(client, device_id, "heartbeat", battery_pct=11)).json()["decided"] == []
    assert (await send(client, device_id, "heartbeat", battery_pct=95)).json()["decided"] == ["DeviceTroubleEnded"]
    assert (await send(client, device_id, "fault")).json()["decided"] == ["DeviceTroubleBegan"]
    r = await client.post(f"/v1/devices/{device_id}/maintenance", json={"kind": "repaired", "note": "replaced sensor"},
                          headers=token())
    assert r.status_code == 200 and r.json()["troubles"] == {}


async def test_a_platform_cannot_signal_for_another_platform_s_device(client, token, city, devices_app, tmp_path):
    device_id, _ = await registered(client, token, city, with_resident=False)
    sid, body = signal(device_id, "smoke_alarm")
    other = "b3RoZXIgcGxhdGZvcm0ncyBzZWNyZXQgMTIzNDU2Nzg="
    from devices.platforms import parse_platforms
    devices_app.state.platforms.update(parse_platforms(f'[[platform]]\nid = "other-iot"\nwebhook_secret = "{other}"\n'))
    r = await client.post("/v1/device-signals", content=body, headers=signed(sid, body, secret=other,
                                                                                    platform="other-iot"))
    assert r.status_code == 422 and r.json()["type"].endswith("unknown-device")
    assert SECRET != other
