"""Volunteers' proximity alerts: the position index beside a naive scan, and alarm accepted →
alerts sent under the 119 critical-path load.

    ./linkduty up && ./linkduty bench volunteers [--positions 50000] [--queries 2000]
        [--parts proximity,alerts] [--rate 15] [--seconds 60]

- **proximity**: 50,000 on-duty positions spread over the demo city (a bench schema of its own,
  the service's own table and index, `volunteers.positions`); for each of `--queries` random
  alarm points, the volunteers within 400 m by the index (`positions.within`), and by a naive
  scan (every fresh position read and measured, as a service without the index would). p50/p99
  of each, the ratio, and a check that both found the same volunteers.
- **alerts**: on the running system. 30 places at random grid centres of the city, three
  volunteers at each (reviewed, insured and trained through the volunteers API, on duty at 50,
  150 and 300 m), and the 50,000 positions again in the running service's index (ids
  `bench-<n>`, no file behind them: the density a city has, deleted afterwards). The 119
  critical-path benchmark runs at `--rate` (its own figures, volunteer alerts on the four
  consoles' streams included), and beside it, one alarm a second at one of the 30 places: for
  each, POST's 201 read → its VolunteersAlerted read on volunteers.events, and whether it named
  the three. Run `./linkduty bench critical_path` before, in the same session, for the figures
  without this load.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import time
import uuid

import asyncpg
import httpx
import orjson
import uvloop
from aiokafka import AIOKafkaConsumer

from bench import critical_path
from bench.common import fresh_schema, save, stack_env, summarize_ms
from linkduty_shared.auth.issuer import LocalIssuer
from linkduty_shared.jurisdictions import Level, distance_m, load_demo_city
from volunteers import positions

VOLUNTEERS_URL = "http://127.0.0.1:8105"
ALARMS_URL = critical_path.ALARMS_URL
VOLUNTEERS_TOPIC = "volunteers.events"
RADIUS_M = 400.0
M = 1 / 111_000
STAFF = ("volunteers:apply", "volunteers:read", "volunteers:review", "volunteers:train")
COURSES = ("cpr_aed", "scene_guidance_basic")  # the gate of a fire alarm's alerts (scene_guidance)
OFFSETS_M = (50, 150, 300)


def city_points(city, n: int, rng: random.Random) -> list[tuple[float, float]]:
    """`n` points inside the city: grid centres, each moved up to 300 m."""
    grids = city.divisions(level=Level.GRID)
    out = []
    for _ in range(n):
        g = grids[rng.randrange(len(grids))]
        out.append((g.lat + rng.uniform(-300, 300) * M, g.lon + rng.uniform(-300, 300) * M))
    return out


async def fill(conn: asyncpg.Connection, points: list[tuple[float, float]], prefix: str, at: dt.datetime) -> None:
    await conn.copy_records_to_table("volunteer_positions", columns=["volunteer_id", "lat", "lon", "accuracy_m",
                                                                     "reported_at"],
                                     records=[(f"{prefix}{i}", lat, lon, 15.0, at) for i, (lat, lon) in
                                              enumerate(points)])


# ---- proximity: the index beside a naive scan ----------------------------------------------------

async def naive_within(conn: asyncpg.Connection, lat: float, lon: float, radius_m: float,
                       fresh_since: dt.datetime) -> list[tuple[str, float]]:
    rows = await conn.fetch("SELECT volunteer_id, lat, lon FROM volunteer_positions WHERE reported_at >= $1",
                            fresh_since)
    near = [(r["volunteer_id"], distance_m(lat, lon, r["lat"], r["lon"])) for r in rows]
    return sorted((n for n in near if n[1] <= radius_m), key=lambda n: n[1])


async def proximity(args, city) -> dict:
    rng = random.Random(13)
    async with fresh_schema(pool_size=2) as (_, pool):
        async with pool.acquire() as conn:
            await conn.execute(positions.DDL)
            now = dt.datetime.now(dt.UTC)
            started = time.monotonic()
            await fill(conn, city_points(city, args.positions, rng), "v", now)
            await conn.execute("ANALYZE volunteer_positions")
            print(f"  {args.positions:,} positions written in {time.monotonic() - started:.1f} s", flush=True)
            since = now - dt.timedelta(minutes=5)
            queries = city_points(city, args.queries, rng)
            timings: dict[str, list[float]] = {"index": [], "naive": []}
            found, mismatches = [], 0
            for i, (lat, lon) in enumerate(queries):
                t = time.perf_counter()
                by_index = await positions.within(conn, lat, lon, RADIUS_M, since)
                timings["index"].append(time.perf_counter() - t)
                found.append(len(by_index))
                if i < args.naive_queries:
                    t = time.perf_counter()
                    by_scan = await naive_within(conn, lat, lon, RADIUS_M, since)
                    timings["naive"].append(time.perf_counter() - t)
                    mismatches += [v for v, _ in by_index] != [v for v, _ in by_scan]
    index, naive = summarize_ms(timings["index"]), summarize_ms(timings["naive"])
    result = {"positions": args.positions, "radius_m": RADIUS_M, "index": index, "naive_scan": naive,
              "mean_found": round(sum(found) / len(found), 1), "max_found": max(found),
              "mismatches": mismatches, "p99_ratio_naive_over_index": round(naive["p99_ms"] / index["p99_ms"], 1)}
    print(f"  within {RADIUS_M:g} m of {args.queries:,} points ({result['mean_found']} volunteers on average,"
          f" at most {result['max_found']}):")
    print(f"    index       n={index['count']:5d}  p50 {index['p50_ms']:7.2f}  p99 {index['p99_ms']:7.2f} ms")
    print(f"    naive scan  n={naive['count']:5d}  p50 {naive['p50_ms']:7.2f}  p99 {naive['p99_ms']:7.2f} ms")
    print(f"    ratio, naive p99 / index p99: {result['p99_ratio_naive_over_index']}×;"
          f" {mismatches} of {naive['count']} answers differed")
    return result


# ---- alerts under the critical-path load ---------------------------------------------------------

async def fit_volunteer(http: httpx.AsyncClient, staff: dict, community: str) -> str:
    """A volunteer reviewed, insured and trained through the running service's API."""
    today = dt.date.today()
    r = await http.post("/v1/volunteers", headers=staff, json={
        "name": "测试志愿者", "id_number": "330102199001011234", "phone": "13800000000",
        "domains": ["scene_guidance"], "home_community": community})
    r.raise_for_status()
    volunteer_id = r.json()["volunteer_id"]
    steps = [("review", {}), ("approval", {}),
             ("insurance", {"policy_number": f"BENCH-{volunteer_id[-8:]}", "insurer": "bench",
                            "valid_from": (today - dt.timedelta(days=1)).isoformat(),
                            "valid_to": (today + dt.timedelta(days=30)).isoformat()})]
    steps += [("course-results", {"course_id": c, "passed": True, "exam_on": today.isoformat()}) for c in COURSES]
    for path, body in steps:
        (await http.post(f"/v1/volunteers/{volunteer_id}/{path}", headers=staff, json=body)).raise_for_status()
    return volunteer_id


async def on_duty(http: httpx.AsyncClient, issuer: LocalIssuer, placed: list[tuple[str, float, float]]) -> None:
    for volunteer_id, lat, lon in placed:
        jwt = issuer.issue(f"volunteer:{volunteer_id}", ["volunteers:respond"], jurisdiction=[""])
        r = await http.put("/v1/me/position", json={"lat": lat, "lon": lon},
                           headers={"Authorization": f"Bearer {jwt}"})
        r.raise_for_status()


async def alerts(args, city) -> dict:
    issuer = LocalIssuer()
    rng = random.Random(1190)
    env = stack_env()
    staff = {"Authorization": f"Bearer {issuer.issue('bench-community', list(STAFF), jurisdiction=[city.city.code])}"}
    intake = {"Authorization": f"Bearer {issuer.issue('bench-intake', ['alarms:report'], jurisdiction=[city.city.code])}"}
    places = [(lat, lon) for lat, lon in city_points(city, args.places, rng)]
    async with httpx.AsyncClient(base_url=VOLUNTEERS_URL, timeout=30) as http:
        started = time.monotonic()
        placed = []
        for lat, lon in places:
            community = city.resolve(lat, lon).community.code
            for metres in OFFSETS_M:
                placed.append((await fit_volunteer(http, staff, community), lat + metres * M, lon))
        await on_duty(http, issuer, placed)
        print(f"  {len(placed)} volunteers reviewed, insured, trained and on duty at {len(places)} places in"
              f" {time.monotonic() - started:.0f} s", flush=True)
        expected = {place: [v for v, *_ in placed[i * 3:(i + 1) * 3]] for i, place in enumerate(places)}
        dsn = env["LINKDUTY_PG_DSN"].rstrip("/") + "/linkduty_volunteers"
        prefix = f"bench-{uuid.uuid4().hex[:6]}-"
        conn = await asyncpg.connect(dsn)
        try:
            await fill(conn, city_points(city, args.positions, rng), prefix, dt.datetime.now(dt.UTC))
            print(f"  {args.positions:,} more positions in the running service's index", flush=True)
            consumer = AIOKafkaConsumer(VOLUNTEERS_TOPIC, bootstrap_servers=env["LINKDUTY_KAFKA_BOOTSTRAP"],
                                        auto_offset_reset="latest", enable_auto_commit=False)
            await consumer.start()
            await consumer.seek_to_end()
            try:
                sent, read, named = {}, {}, {}
                stop = asyncio.Event()

                async def follow() -> None:
                    while not stop.is_set():
                        batch = await consumer.getmany(timeout_ms=200)
                        now = time.monotonic()
                        for records in batch.values():
                            for r in records:
                                headers = dict(r.headers or ())
                                if headers.get("ce_type", b"").endswith(b".VolunteersAlerted"):
                                    data = orjson.loads(r.value)
                                    read.setdefault(data["alarm_id"], now)
                                    named[data["alarm_id"]] = [a["volunteer_id"] for a in data["alerted"]]

                async def beside() -> None:
                    """One alarm a second at one of the places, for as long as the critical path runs."""
                    async with httpx.AsyncClient(base_url=ALARMS_URL, timeout=30) as alarms:
                        await asyncio.sleep(args.beside_after_s)  # past the critical path's warm-up
                        for _ in range(int(args.seconds)):
                            lat, lon = places[rng.randrange(len(places))]
                            r = await alarms.post("/v1/alarms", headers=intake, json={
                                "source": "119", "kind": "fire", "severity": "moderate", "description": "bench 志愿者",
                                "location": {"lat": lat, "lon": lon, "place": "public"}})
                            if r.status_code == 201:
                                sent[r.json()["alarm_id"]] = (time.monotonic(), (lat, lon))
                            await asyncio.sleep(1)

                async def refresh() -> None:
                    """Positions are fresh for 5 minutes: the run reports them again each minute."""
                    while not stop.is_set():
                        await asyncio.sleep(60)
                        await on_duty(http, issuer, placed)
                        await conn.execute("UPDATE volunteer_positions SET reported_at = now() WHERE volunteer_id "
                                           "LIKE $1", prefix + "%")

                following, refreshing = asyncio.create_task(follow()), asyncio.create_task(refresh())
                side = asyncio.create_task(beside())
                critical = await critical_path.run(args.rate, args.seconds)
                await side
                await asyncio.sleep(5)
                stop.set()
                await asyncio.gather(following, return_exceptions=True)
                refreshing.cancel()
            finally:
                await consumer.stop()
        finally:
            await conn.execute("DELETE FROM volunteer_positions WHERE volunteer_id LIKE $1", prefix + "%")
            await conn.close()
    latencies = [read[a] - t for a, (t, _) in sent.items() if a in read]
    right = sum(named.get(a) == expected[place] for a, (_, place) in sent.items())
    figures = {"alarms": len(sent), "alerted": len(latencies), "named_the_three": right,
               "accepted_to_alerts_sent": summarize_ms(latencies), "critical_path": critical}
    s = figures["accepted_to_alerts_sent"]
    print(f"  beside it: {len(sent)} alarms at the volunteers' places, {len(latencies)} alerted,"
          f" {right} naming exactly the three in range; accepted → VolunteersAlerted on volunteers.events"
          f" p50 {s['p50_ms']} p99 {s['p99_ms']} max {s['max_ms']} ms")
    return figures


async def main(args) -> dict:
    city = load_demo_city()
    parts = set(args.parts.split(","))
    result: dict = {}
    if "proximity" in parts:
        print(f"proximity over {args.positions:,} on-duty positions", flush=True)
        result["proximity"] = await proximity(args, city)
    if "alerts" in parts:
        print(f"alarm accepted → volunteers alerted, beside the critical path at {args.rate}/s for {args.seconds} s",
              flush=True)
        result["alerts"] = await alerts(args, city)
    print(f"  results written to {save('volunteers', result)}")
    return result


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--positions", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--naive-queries", type=int, default=200, help="of the queries, how many also scan naively")
    parser.add_argument("--places", type=int, default=30)
    parser.add_argument("--rate", type=float, default=15)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--beside-after-s", type=float, default=10.0)
    parser.add_argument("--parts", default="proximity,alerts", help="which parts to run, comma-separated")
    uvloop.run(main(parser.parse_args(argv)))


if __name__ == "__main__":
    cli()
