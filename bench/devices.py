"""Networked smoke detectors under load: signal received → alarm on the four centres' streams,
over MQTT and over HTTP, with 20,000 detectors heartbeating; and the 119 critical path with the
heartbeats running.

    ./linkduty up && ./linkduty bench devices [--detectors 20000] [--bursts 8] [--seconds 60]
        [--parts signals,critical] [--rate 15]

Drives the running system (devices :8106 and its MQTT intake on the stack's Mosquitto, alarms
:8101 reading devices.events, linkage, gateway :8104). `--detectors` detectors are registered
once (ids `bench-hb-<n>`, 30 flats to a building, one in ten watching over a registered
resident; a later run reuses them), half on the demo-iot platform and half on city-iot. They
are registered with a heartbeat period of a day and beat once a minute while the bench runs: the
load of 20,000 detectors on a one-minute period, without the running system seeing all of them
go offline (20,000 maintenance hazards) each time the bench stops.

- **signals**: every detector heartbeats once a minute over MQTT (its platform's user, QoS 1,
  from a process of its own), and every `--seconds / --bursts` a block of flats goes off: its 30
  detectors' smoke alarms within 10 s, a burst over MQTT, the next over HTTP (Standard Webhooks
  signed). A console follows every centre's stream (as in the critical-path benchmark); for each
  detector's alarm it times signal sent → its call (AlarmReported, or CallLinked onto the block's
  alarm) read on each of the four centres' streams, per way in. Beside it, in the same run and on
  the same broker, the raw MQTT publish → subscribe round trip (the baseline: the ratio printed
  is the MQTT signal's p99 on all four screens over it). Each block's alarm is then cleared and
  cancelled.
- **critical**: the heartbeats again, and the 119 critical-path benchmark at `--rate`
  beside them (its own figures). Run `./linkduty bench critical_path` before, in the same session,
  for the figures without them.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import json
import multiprocessing
import random
import time
import tomllib
import uuid
from pathlib import Path

import aiomqtt
import httpx
import uvloop
from standardwebhooks import Webhook

from bench import critical_path
from bench.common import ROOT, save, stack_env, summarize_ms
from linkduty_shared.auth.issuer import LocalIssuer
from linkduty_shared.contracts.devices import episode_key
from linkduty_shared.jurisdictions import Level, OutsideJurisdiction, load_demo_city

DEVICES_URL = "http://127.0.0.1:8106"
FLATS = 30  # detectors to a building: a block of flats
BURST_S = 10.0  # a block's 30 detectors go off within this
WITH_RESIDENT = 10  # one detector in this many watches over a registered resident
DECLARED_PERIOD_S = 86_400  # what the bench's detectors declare (they beat every 60 s; see above)
M = 1 / 111_000
STAFF = ("devices:register", "devices:read", "residents:register")
LEVELS = critical_path.LEVELS


def platforms() -> dict[str, dict]:
    state = Path(stack_env().get("LINKDUTY_STATE", ROOT / ".state"))
    path = state / "devices" / "platforms.toml"
    return {p["id"]: p for p in tomllib.loads(path.read_text(encoding="utf-8"))["platform"]}


def platform_of(n: int) -> str:
    return "demo-iot" if n % 2 == 0 else "city-iot"


def device_id(n: int) -> str:
    return f"bench-hb-{n:05d}"


def layout(city, detectors: int) -> list[tuple[float, float, int, int]]:
    """Each detector's (lat, lon, building, floor): buildings at grid centres across the city, a
    flat's detector a metre or two from its neighbours'."""
    grids = city.divisions(level=Level.GRID)
    rng = random.Random(20_000)
    out = []
    for building in range((detectors + FLATS - 1) // FLATS):
        while True:  # a building wholly inside the city (a grid at its edge has points outside)
            g = grids[rng.randrange(len(grids))]
            lat, lon = g.lat + rng.uniform(-200, 200) * M, g.lon + rng.uniform(-200, 200) * M
            if inside(city, lat, lon) and inside(city, lat + 10 * M, lon + 8 * M):
                break
        for flat in range(FLATS):
            out.append((lat + (flat % 6) * 2 * M, lon + (flat // 6) * 2 * M, building, flat // 2 + 1))
    return out[:detectors]


def inside(city, lat: float, lon: float) -> bool:
    try:
        city.resolve(lat, lon)
    except OutsideJurisdiction:
        return False
    return True


async def ensure_detectors(city, issuer: LocalIssuer, detectors: int) -> list[tuple[float, float, int, int]]:
    """The bench's detectors registered in the running devices service (a 409: there already)."""
    places = layout(city, detectors)
    token = issuer.issue("bench-community-staff", list(STAFF), jurisdiction=[city.city.code])
    headers = {"Authorization": f"Bearer {token}"}
    outcome = collections.Counter()
    gate = asyncio.Semaphore(32)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=DEVICES_URL, timeout=60, headers=headers) as http:
        exists = await http.get(f"/v1/devices/{device_id(detectors - 1)}")
        if exists.status_code == 200:
            print(f"  {detectors} detectors registered already", flush=True)
            return places

        async def register(n: int) -> None:
            lat, lon, building, floor = places[n]
            async with gate:
                resident_id = None
                if n % WITH_RESIDENT == 0:
                    chain = city.resolve(lat, lon)
                    r = await http.post("/v1/residents", json={
                        "community": chain.community.code, "consent_by": "self", "name": f"bench resident {n}",
                        "phone": "13800000000", "address": f"bench building {building}, flat {floor}02",
                        "emergency_contacts": [], "age_band": "80_89", "mobility": "needs_help_on_stairs",
                        "floor": floor, "lives_alone": True})
                    if r.status_code == 201:
                        resident_id = r.json()["resident_id"]
                r = await http.post("/v1/devices", json={
                    "device_id": device_id(n), "platform": platform_of(n), "model": "JTY-GD-H361",
                    "location": {"lat": lat, "lon": lon, "building": f"bench-{building}", "floor": floor,
                                 "flat": f"{floor}0{n % 2 + 1}"},
                    "place": "home", "heartbeat_period_s": DECLARED_PERIOD_S, "resident_id": resident_id})
            outcome[r.status_code] += 1

        await asyncio.gather(*(register(n) for n in range(detectors)))
    print(f"  registered {detectors} detectors in {time.monotonic() - started:.0f} s: {dict(outcome)}", flush=True)
    return places


# ---- the heartbeats, in a process of their own ------------------------------------------------

def _heartbeats_process(detectors: int, period_s: float, stop, out) -> None:
    uvloop.run(_heartbeats(detectors, period_s, stop, out))


async def _heartbeats(detectors: int, period_s: float, stop, out) -> None:
    """Every detector heartbeats once per `period_s`, spread evenly, over its platform's MQTT user."""
    env, known = stack_env(), platforms()
    sent, failed = 0, 0
    async with PlatformClients(env, known) as clients:
        start = time.monotonic()
        out.put(("started",))
        tick = 0
        while not stop.is_set():
            n = tick % detectors
            delay = start + tick * period_s / detectors - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            platform = platform_of(n)
            payload = {"signal_id": f"hb-{n}-{tick // detectors}-{uuid.uuid4().hex[:6]}", "device_id": device_id(n),
                       "type": "heartbeat", "at": dt.datetime.now(dt.UTC).isoformat(), "battery_pct": 90}
            try:
                await clients[platform].publish(f"linkduty/devices/{platform}/signals", json.dumps(payload), qos=1)
                sent += 1
            except aiomqtt.MqttError:
                failed += 1
            tick += 1
        elapsed = time.monotonic() - start
    out.put(("heartbeats", sent, failed, elapsed))


class PlatformClients:
    """One MQTT client per platform, as the platform's own user."""

    def __init__(self, env: dict, known: dict) -> None:
        self.clients = {pid: aiomqtt.Client(env["LINKDUTY_MQTT_HOST"], int(env["LINKDUTY_MQTT_PORT"]),
                                            username=p["mqtt_username"], password=p["mqtt_password"],
                                            identifier=f"bench-{pid}-{uuid.uuid4().hex[:6]}")
                        for pid, p in known.items()}

    async def __aenter__(self) -> dict[str, aiomqtt.Client]:
        for c in self.clients.values():
            await c.__aenter__()
        return self.clients

    async def __aexit__(self, *exc) -> None:
        for c in self.clients.values():
            await c.__aexit__(*exc)


class Heartbeats:
    def __init__(self, detectors: int, period_s: float = 60.0) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._stop, self._out = ctx.Event(), ctx.Queue()
        self._proc = ctx.Process(target=_heartbeats_process, args=(detectors, period_s, self._stop, self._out))
        self.figures: dict = {}

    async def __aenter__(self):
        self._proc.start()
        await asyncio.to_thread(self._out.get, True, 60)
        return self

    async def __aexit__(self, *exc) -> None:
        self._stop.set()
        _, sent, failed, elapsed = await asyncio.to_thread(self._out.get, True, 60)
        await asyncio.to_thread(self._proc.join, 30)
        self.figures = {"sent": sent, "failed": failed, "per_s": round(sent / elapsed, 1)}
        print(f"  heartbeats: {sent} sent over MQTT ({self.figures['per_s']}/s), {failed} failed", flush=True)


# ---- the raw MQTT round trip ------------------------------------------------------------------

async def mqtt_round_trips(env: dict, known: dict, stop: asyncio.Event, per_s: float = 5.0) -> list[float]:
    """Publish → subscribe on the same broker: demo-iot publishes, the devices service's user reads
    (a topic the service does not subscribe to)."""
    topic = f"linkduty/devices/demo-iot/bench-probe-{uuid.uuid4().hex[:6]}"
    p = known["demo-iot"]
    sent: dict[str, float] = {}
    rtts: list[float] = []
    async with aiomqtt.Client(env["LINKDUTY_MQTT_HOST"], int(env["LINKDUTY_MQTT_PORT"]),
                              username=env["LINKDUTY_MQTT_USERNAME"], password=env["LINKDUTY_MQTT_PASSWORD"],
                              identifier=f"bench-probe-sub-{uuid.uuid4().hex[:6]}") as sub, \
            aiomqtt.Client(env["LINKDUTY_MQTT_HOST"], int(env["LINKDUTY_MQTT_PORT"]), username=p["mqtt_username"],
                           password=p["mqtt_password"], identifier=f"bench-probe-pub-{uuid.uuid4().hex[:6]}") as pub:
        await sub.subscribe(topic, qos=1)

        async def read() -> None:
            async for message in sub.messages:
                key = message.payload.decode()
                if key in sent:
                    rtts.append(time.monotonic() - sent.pop(key))

        reader = asyncio.create_task(read())
        i = 0
        while not stop.is_set():
            key = f"probe-{i}"
            sent[key] = time.monotonic()
            await pub.publish(topic, key, qos=1)
            i += 1
            await asyncio.sleep(1 / per_s)
        await asyncio.sleep(0.5)
        reader.cancel()
    return rtts


# ---- the bursts -------------------------------------------------------------------------------

async def signals(args, city, issuer: LocalIssuer, places) -> dict:
    env, known = stack_env(), platforms()
    buildings = collections.defaultdict(list)
    for n, (_, _, building, _) in enumerate(places):
        buildings[building].append(n)
    rng = random.Random()
    chosen = rng.sample([b for b, ns in buildings.items() if len(ns) == FLATS], args.bursts)
    centres = {c.id: issuer.issue(f"bench-console-{c.id}", ["stream:read"], centre=c.id) for c in city.centres()}
    hooks = {pid: Webhook(p["webhook_secret"]) for pid, p in known.items()}
    run = uuid.uuid4().hex[:6]
    sent: dict[str, tuple[float, str, tuple[str, ...]]] = {}  # episode → (sent at, way, its four centres)
    failures = collections.Counter()
    lag = await critical_path.wait_until_drained(env["LINKDUTY_KAFKA_BOOTSTRAP"])
    if lag:
        print(f"  services not drained ({lag} records unread): measuring anyway", flush=True)
    stop_probe = asyncio.Event()
    async with Heartbeats(args.detectors) as beats, critical_path.Consoles(centres) as consoles, \
            PlatformClients(env, known) as mqtt, httpx.AsyncClient(base_url=DEVICES_URL, timeout=30) as http:
        print(f"  {consoles.connected} console streams open ({len(consoles.errors)} failed);"
              f" heartbeats running", flush=True)
        probe = asyncio.create_task(mqtt_round_trips(env, known, stop_probe))

        async def signal(n: int, type_: str, way: str, sid: str) -> None:
            platform = platform_of(n)
            body = {"device_id": device_id(n), "type": type_, "at": dt.datetime.now(dt.UTC).isoformat()}
            try:
                if way == "mqtt":
                    await mqtt[platform].publish(f"linkduty/devices/{platform}/signals",
                                                 json.dumps(body | {"signal_id": sid}), qos=1)
                    return
                raw = json.dumps(body)
                now = dt.datetime.now(dt.UTC)
                r = await http.post("/v1/device-signals", content=raw, headers={
                    "LinkDuty-Platform": platform, "webhook-id": sid, "webhook-timestamp": str(int(now.timestamp())),
                    "webhook-signature": hooks[platform].sign(sid, now, raw), "content-type": "application/json"})
                if r.status_code != 202:
                    failures[f"{type_} HTTP {r.status_code}"] += 1
            except (httpx.HTTPError, aiomqtt.MqttError) as exc:
                failures[f"{type_} {type(exc).__name__}"] += 1

        # a block whose detectors an earlier run left in alarm would only count repeats
        await asyncio.gather(*(signal(n, "alarm_cleared", "http", f"bench-pre-{run}-{n}")
                               for b in chosen for n in buildings[b]))
        await asyncio.sleep(2)
        interval = args.seconds / args.bursts
        start = time.monotonic()
        tasks = []
        for k, building in enumerate(chosen):
            way = "mqtt" if k % 2 == 0 else "http"
            burst_start = start + k * interval
            for j, n in enumerate(buildings[building]):
                delay = burst_start + j * BURST_S / FLATS - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                episode = f"bench-{run}-{n}"
                lat, lon, _, _ = places[n]
                # the alarm's call id: the device and its episode
                sent[episode_key(device_id(n), episode)] = (time.monotonic(), way,
                                                            tuple(city.resolve(lat, lon).centre_ids()))
                tasks.append(asyncio.create_task(signal(n, "smoke_alarm", way, episode)))
        await asyncio.gather(*tasks)
        await asyncio.sleep(args.drain)
        stop_probe.set()
        rtts = await probe
        await consoles.collect()
        # clean-up: every detector cleared, every block's alarm cancelled
        await asyncio.gather(*(signal(n, "alarm_cleared", "http", f"bench-post-{run}-{n}")
                               for b in chosen for n in buildings[b]))
    alarms = {alarm for _, alarm, _, _, _, call in consoles.arrivals if call in sent}
    await critical_path.cancel_all(alarms, city, issuer)

    latency = {way: {level: [] for level in LEVELS} for way in ("mqtt", "http")}
    whole = {way: [] for way in ("mqtt", "http")}  # the last of the four
    seen: dict[str, dict[str, float]] = collections.defaultdict(dict)
    for centre, _, _, _, t, call in consoles.arrivals:
        if call in sent and centre in sent[call][2]:
            seen[call].setdefault(centre, t)
    for episode, (at, way, ids) in sent.items():
        for level, centre in zip(LEVELS, ids):
            if centre in seen[episode]:
                latency[way][level].append(seen[episode][centre] - at)
        if set(seen[episode]) == set(ids):
            whole[way].append(max(seen[episode].values()) - at)
    result = {
        "detectors": args.detectors, "bursts": args.bursts, "signals": len(sent), "failures": dict(failures),
        "heartbeats": beats.figures, "streams": consoles.connected,
        "alarms": len(alarms), "calls_per_alarm": round(len(sent) / max(1, len(alarms)), 1),
        "on_all_four": {way: len(v) for way, v in whole.items()},
        "lost": sum(1 for e, (_, _, ids) in sent.items() if set(seen[e]) != set(ids)),
        "signal_to_four_streams": {way: summarize_ms(v) for way, v in whole.items()},
        "by_level": {way: {level: summarize_ms(v) for level, v in by.items()} for way, by in latency.items()},
        "raw_mqtt_round_trip": summarize_ms(rtts),
    }
    raw_p99 = result["raw_mqtt_round_trip"]["p99_ms"]
    result["ratio_mqtt_p99_to_raw_mqtt_p99"] = round(result["signal_to_four_streams"]["mqtt"]["p99_ms"] / raw_p99, 1)
    result["targets"] = {
        "p99 ≤ 1 s on all four streams (NFPA 72 gives 90 s)":
            max(result["signal_to_four_streams"][w]["p99_ms"] for w in whole) <= 1000,
        "nothing lost": result["lost"] == 0,
        "a block is one alarm": len(alarms) == args.bursts,
    }
    report(result)
    return result


def report(r: dict) -> None:
    print(f"  {r['signals']} detectors' alarms in {r['bursts']} blocks of {FLATS} within {BURST_S:.0f} s;"
          f" {r['alarms']} alarms ({r['calls_per_alarm']} calls each), lost {r['lost']},"
          f" failures {r['failures'] or 0}")
    for way in ("mqtt", "http"):
        s = r["signal_to_four_streams"][way]
        print(f"    {way:4s} signal sent → its call on all four streams: n={s['count']:4d} p50 {s['p50_ms']:7.1f}"
              f" p95 {s['p95_ms']:7.1f} p99 {s['p99_ms']:7.1f} max {s['max_ms']:7.1f} ms")
        print("         by level: " + ", ".join(f"{level} p50 {v['p50_ms']} p99 {v['p99_ms']}"
                                             for level, v in r["by_level"][way].items()))
    k = r["raw_mqtt_round_trip"]
    print(f"    raw MQTT publish → subscribe (same broker, same run): p50 {k['p50_ms']} p99 {k['p99_ms']} ms"
          f" (n={k['count']}); MQTT signal p99 / raw MQTT p99 = {r['ratio_mqtt_p99_to_raw_mqtt_p99']}×")
    for name, ok in r["targets"].items():
        print(f"    target {name}: {'met' if ok else 'MISSED'}")


async def with_critical_path(args) -> dict:
    async with Heartbeats(args.detectors) as beats:
        await asyncio.sleep(5)
        print(f"critical path at {args.rate} alarms/s for {args.seconds} s, {args.detectors} detectors heartbeating",
              flush=True)
        result = await critical_path.run(args.rate, args.seconds)
    result["heartbeats"] = beats.figures
    return result


async def main(args) -> dict:
    city, issuer = load_demo_city(), LocalIssuer()
    print(f"devices: {args.detectors} detectors", flush=True)
    places = await ensure_detectors(city, issuer, args.detectors)
    results: dict = {}
    parts = args.parts.split(",")
    if "signals" in parts:
        print(f"signals: {args.bursts} blocks of flats going off over {args.seconds} s, heartbeats running", flush=True)
        results["signals"] = await signals(args, city, issuer, places)
    if "critical" in parts:
        results["critical_path"] = await with_critical_path(args)
    print(f"  results written to {save('devices', results)}")
    return results


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--detectors", type=int, default=20_000)
    parser.add_argument("--bursts", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--drain", type=float, default=10, help="seconds to wait for the last calls to arrive")
    parser.add_argument("--rate", type=float, default=15, help="the critical path's alarms/s")
    parser.add_argument("--parts", default="signals,critical")
    uvloop.run(main(parser.parse_args(argv)))


if __name__ == "__main__":
    cli()
