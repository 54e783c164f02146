"""Hazards: a resident's report with one 2 MB photo, and a street's hazard list over 100,000 hazards.

    ./linkduty bench hazards [--reports 200] [--concurrency 4] [--hazards 100000] [--lists 1000]
                             [--stats-hazards 1000000] [--stats-inspections 200000] [--parts intake,list,statistics]
                             [--quick]

Both parts run the hazards service as deployed, in a process of its own (`python -m
hazards.main`: its pool, relay and photo workers), on a fresh schema of `linkduty_bench`, a bench
topic and the local-filesystem object store (the embedded default), with the rest of the stack
running beside it on the same two cores.

1. **Intake** (随手拍): `concurrency` residents in a closed loop, each report two requests as the
   mini-program sends them: `POST /v1/photos` (a 12 MP, 2.1 MB JPEG carrying GPS and camera EXIF:
   sniffed, limits checked, decoded, EXIF stripped, re-encoded, thumbnail, hashed, two objects
   written) then `POST /v1/hazards` naming the photo. Each resident has their own token and photo
   bytes, so no upload is answered from the idempotent-retry path. Figures: the whole report, each
   request, reports/s. **Baseline in the same run**: the same bytes written to the same store
   directly (`ObjectStore.put`, same concurrency), and the photo's processing alone
   (`hazards.images.process`, in this process): what intake costs beyond storing the bytes, and
   where it goes.
2. **A street's list** with `hazards` hazards in the store: loaded through `HazardsService.report`
   (events, outbox, read model, vault: the real write path, at random points of the city over the
   past year), then `GET /v1/hazards` as a street centre's token asks it: the first page (50,
   newest first) and pages further down by cursor, and the same for a community and the district;
   the list query alone (SQL, no HTTP) beside it.
3. **City-wide statistics** (`GET /v1/reports/hazards` over the past 365 days): the counters
   filled as for `stats-hazards` / 10 hazards and `stats-inspections` / 10 inspections over two
   years (bench/hazard_statistics.py says how, and why not through the write path), the report
   timed for the city, its busiest district, a street and a community (JSON, and the city's as
   CSV); then filled up to `stats-hazards` and `stats-inspections` and timed again. Figures: p50
   and p99 at each size, and the ratio 1M / 100k (flat is the design: the report reads a bounded
   number of cells, whatever the number of hazards). The pre-incident picture's latency under
   load is measured by the critical-path bench, which reads it on the consoles' streams.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import datetime as dt
import io
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from PIL import Image

from bench import hazard_statistics
from bench.common import bench_dsn, fresh_schema, save, stack_env, summarize_ms
from hazards import images
from hazards.bootstrap import build_app
from hazards.config import HazardsSettings
from hazards.application.commands import ReportHazard
from hazards.projections.hazard_list import FIRST_PAGE, list_hazards
from linkduty_shared.application import CommandContext
from linkduty_shared.auth.issuer import LocalIssuer
from linkduty_shared.auth.tokens import Principal
from linkduty_shared.jurisdictions import Level, OutsideJurisdiction, load_demo_city
from linkduty_shared.messaging.topics import TopicSpec, ensure_topics
from linkduty_shared.objects import ObjectStore
from tests.support.served import served

TOPIC = "bench.hazards.events"
# Its own units topic and group: the running hazards service's group on the real units.events is not the bench's to join.
UNITS_TOPIC = "bench.units.events"
ALARMS_TOPIC = "bench.alarms.events"
VOLUNTEERS_TOPIC = "bench.volunteers.events"
DEVICES_TOPIC = "bench.devices.events"
SETTINGS_FIELDS = ("service_name", "pg_dsn", "kafka_bootstrap", "events_topic", "units_events_topic",
                   "patrol_findings_group", "alarms_events_topic", "alarm_context_group", "object_store_path",
                   "volunteers_events_topic", "volunteer_findings_group", "devices_events_topic",
                   "device_troubles_group", "auth_jwks_file", "auth_issuer",
                   "deadline_sweep_interval_s")
CATEGORIES = ("ebike_indoors", "evacuation_route_blocked", "flying_wire_charging", "corridor_cluttered",
              "fire_equipment_defective")


def phone_photo(seed: int) -> bytes:
    """A 12 MP JPEG of about 2.1 MB, as a phone takes it: smooth texture, GPS and camera EXIF."""
    rng = random.Random(seed)
    small = Image.frombytes("RGB", (252, 189), rng.randbytes(252 * 189 * 3))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Xiaomi", "23127PN0CC"  # Make, Model
    exif.get_ifd(0x8825).update({1: "N", 2: (30.0, 16.0, 12.5), 3: "E", 4: (120.0, 9.0, 3.2)})  # GPS
    out = io.BytesIO()
    small.resize((4032, 3024), Image.BICUBIC).save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def city_points(city, n: int, rng: random.Random) -> list[tuple[float, float]]:
    """`n` random points inside the city (its bounding box, kept where it resolves)."""
    communities = city.divisions(level=Level.COMMUNITY)
    lats, lons = [c.lat for c in communities], [c.lon for c in communities]
    box = (min(lats) - 0.01, max(lats) + 0.01, min(lons) - 0.01, max(lons) + 0.01)
    points: list[tuple[float, float]] = []
    while len(points) < n:
        lat, lon = rng.uniform(box[0], box[1]), rng.uniform(box[2], box[3])
        with contextlib.suppress(OutsideJurisdiction):
            city.resolve(lat, lon)
            points.append((lat, lon))
    return points


def settings_for(schema_dsn: str, objects: Path, issuer: LocalIssuer) -> HazardsSettings:
    env = stack_env()
    return HazardsSettings(
        service_name=f"bench-hazards-{uuid.uuid4().hex[:6]}", pg_dsn=schema_dsn,
        kafka_bootstrap=env["LINKDUTY_KAFKA_BOOTSTRAP"], events_topic=TOPIC, units_events_topic=UNITS_TOPIC,
        patrol_findings_group=f"bench-hazards-{uuid.uuid4().hex[:6]}", object_store_path=str(objects),
        alarms_events_topic=ALARMS_TOPIC, alarm_context_group=f"bench-hazards-context-{uuid.uuid4().hex[:6]}",
        volunteers_events_topic=VOLUNTEERS_TOPIC,
        volunteer_findings_group=f"bench-hazards-findings-{uuid.uuid4().hex[:6]}",
        devices_events_topic=DEVICES_TOPIC, device_troubles_group=f"bench-hazards-devices-{uuid.uuid4().hex[:6]}",
        auth_jwks_file=str(issuer.jwks_file), auth_issuer=issuer.issuer,
        # The sweep passes once at start; a year of loaded hazards is mostly past its triage
        # deadline, and the bench measures lists, not escalations.
        deadline_sweep_interval_s=86_400.0)


def schema_dsn(schema: str) -> str:
    return f"{bench_dsn()}?options=-csearch_path%3D{schema}"


async def timed(samples: list[float], request) -> httpx.Response:
    started = time.perf_counter()
    response = await request
    samples.append(time.perf_counter() - started)
    return response


# ---- 1. intake --------------------------------------------------------------------------------

async def intake(client: httpx.AsyncClient, issuer: LocalIssuer, city, *, reports: int, concurrency: int) -> dict:
    rng = random.Random(7)
    photos = [phone_photo(i) for i in range(concurrency)]
    points = city_points(city, reports, rng)
    totals, uploads, posts = [], [], []
    next_report = iter(range(reports))
    city_code = city.city.code

    async def resident(r: int) -> None:
        # Each resident re-uploads their own photo with a fresh subject per report: the same bytes
        # from another account are another photo (idempotency is per uploader and content).
        for i in next_report:
            headers = {"Authorization": "Bearer " + issuer.issue(f"bench-resident-{r}-{i}", ["hazards:report"],
                                                                  jurisdiction=[city_code])}
            started = time.perf_counter()
            up = await timed(uploads, client.post("/v1/photos", headers=headers,
                                                  files={"file": ("IMG_0001.jpg", photos[r], "image/jpeg")}))
            assert up.status_code == 201, up.text
            lat, lon = points[i]
            body = {"category": rng.choice(CATEGORIES), "description": "楼道里有电动车在充电",
                    "location": {"lat": lat, "lon": lon}, "photo_ids": [up.json()["photo_id"]],
                    "reporter": {"phone": "13812345678"}}
            made = await timed(posts, client.post("/v1/hazards", headers=headers, json=body))
            assert made.status_code == 201, made.text
            totals.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(resident(r) for r in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"photo_bytes": len(photos[0]), "reports": reports, "concurrency": concurrency,
            "reports_per_s": round(reports / elapsed, 2), "report": summarize_ms(totals),
            "upload": summarize_ms(uploads), "post": summarize_ms(posts)}


async def direct_writes(store: ObjectStore, data: bytes, *, writes: int, concurrency: int) -> dict:
    samples: list[float] = []
    keys = iter(range(writes))

    async def writer() -> None:
        for i in keys:
            started = time.perf_counter()
            await store.put(f"direct/{i}", data)
            samples.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(concurrency)))
    return {"writes_per_s": round(writes / (time.perf_counter() - started), 1), "write": summarize_ms(samples)}


def processing_alone(data: bytes, runs: int) -> dict:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        images.process(data)
        samples.append(time.perf_counter() - started)
    return summarize_ms(samples)


# ---- 2. a street's list -----------------------------------------------------------------------

async def load_hazards(settings: HazardsSettings, city, n: int, *, writers: int = 8) -> dict:
    """`n` hazards through the real write path, reported at random points over the past year."""
    app = build_app(settings)
    rng = random.Random(11)
    points = city_points(city, n, rng)
    year_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=365)
    principal = Principal("bench-loader", frozenset({"hazards:report", "hazards:read"}), (city.city.code,))
    ctx = CommandContext(actor="bench-loader", agency="bench")
    todo = iter(range(n))
    async with app.router.lifespan_context(app):
        service = app.state.hazards
        # Each report's clock reads its own moment of the year (the service asks its clock inside
        # the unit of work; a task-local moment keeps concurrent writers apart).
        moment: contextvars.ContextVar[dt.datetime] = contextvars.ContextVar("moment")
        service.clock = lambda: moment.get(dt.datetime.now(dt.UTC))

        async def writer() -> None:
            for i in todo:
                moment.set(year_ago + dt.timedelta(seconds=i * 365 * 86_400 / n))
                lat, lon = points[i]
                await service.report(ReportHazard(category=CATEGORIES[i % len(CATEGORIES)],
                                                  description="消防通道堆放杂物", lat=lat, lon=lon,
                                                  source="grid_worker"), ctx, principal)
                if (i + 1) % 10_000 == 0:
                    print(f"    loaded {i + 1:,} hazards", flush=True)

        started = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(writers)))
        elapsed = time.perf_counter() - started
    return {"hazards": n, "seconds": round(elapsed, 1), "reports_per_s": round(n / elapsed, 1)}


async def list_pages(client: httpx.AsyncClient, headers: dict[str, str], *, requests: int, depth: int) -> dict:
    """First pages, and pages `depth` pages down by cursor; each timed."""
    first: list[float] = []
    deep: list[float] = []
    rows = 0
    for _ in range(requests // (depth + 1) or 1):
        page = await timed(first, client.get("/v1/hazards", headers=headers, params={"limit": 50}))
        assert page.status_code == 200, page.text
        body = page.json()
        rows = max(rows, len(body["hazards"]))
        for _ in range(depth):
            if not body["next_cursor"]:
                break
            page = await timed(deep, client.get("/v1/hazards", headers=headers,
                                                params={"limit": 50, "cursor": body["next_cursor"]}))
            assert page.status_code == 200, page.text
            body = page.json()
    return {"first_page": summarize_ms(first), "deeper_pages": summarize_ms(deep), "page_rows": rows}


async def list_sql(pool, code: str, runs: int) -> dict:
    samples = []
    async with pool.acquire() as conn:
        for _ in range(runs):
            started = time.perf_counter()
            await list_hazards(conn, within=[code], limit=50, after=FIRST_PAGE)
            samples.append(time.perf_counter() - started)
    return summarize_ms(samples)


async def busiest(pool, level: str) -> tuple[str, int]:
    row = await pool.fetchrow(f"SELECT {level} AS code, count(*) AS n FROM hazard_list GROUP BY 1 ORDER BY 2 DESC LIMIT 1")
    return row["code"], row["n"]


async def time_reports(client: httpx.AsyncClient, issuer: LocalIssuer, city, *, requests: int) -> dict:
    """`requests` reports of the past 365 days for the city, a district, a street and a community each."""
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    period = {"from": (today - dt.timedelta(days=364)).isoformat(), "to": today.isoformat()}
    headers = {"Authorization": "Bearer " + issuer.issue("bench-city-centre", ["hazards:read"],
                                                          jurisdiction=[city.city.code])}
    district = city.divisions(level=Level.DISTRICT)[0]
    street = city.children(district.code)[0]
    community = city.children(street.code)[0]
    out = {}
    for level, code, fmt in (("city", city.city.code, "json"), ("district", district.code, "json"),
                             ("street", street.code, "json"), ("community", community.code, "json"),
                             ("city_csv", city.city.code, "csv")):
        samples: list[float] = []
        for _ in range(requests):
            r = await timed(samples, client.get("/v1/reports/hazards", headers=headers,
                                                params={"division": code, "format": fmt, **period}))
            assert r.status_code == 200, r.text
        reported = r.json()["total"]["figures"]["reported"] if fmt == "json" else None
        out[level] = {"code": code, "reported_in_year": reported, **summarize_ms(samples)}
    return out


async def statistics(args, issuer: LocalIssuer, city, log_dir: Path) -> dict:
    print(f"hazards: city-wide statistics, {args.stats_hazards // 10:,} then {args.stats_hazards:,} hazards and "
          f"{args.stats_inspections // 10:,} then {args.stats_inspections:,} inspections in the counters")
    steps = []
    async with fresh_schema(pool_size=2) as (schema, pool):
        settings = settings_for(schema_dsn(schema), log_dir / "objects-stats", issuer)
        async with served("hazards.main", settings, SETTINGS_FIELDS, log_dir) as client:
            hazards = inspections = 0
            for size in (10, 1):
                add_h, add_i = args.stats_hazards // size - hazards, args.stats_inspections // size - inspections
                loaded = await hazard_statistics.load(pool, city, hazards=add_h, inspections=add_i, first=hazards,
                                                      seed=size)
                hazards, inspections = hazards + add_h, inspections + add_i
                await time_reports(client, issuer, city, requests=5)  # warm: plans, caches
                timing = await time_reports(client, issuer, city, requests=args.report_requests)
                steps.append({"hazards": hazards, "inspections": inspections, "loaded": loaded, "reports": timing})
                print(f"  {hazards:>9,} hazards, {inspections:,} inspections (cells computed in "
                      f"{loaded['computed_s']} s, written in {loaded['written_s']} s; rows {loaded['rows']})")
                for level, t in timing.items():
                    print(f"    {level:10} {t['code']:14} p50 {t['p50_ms']:7.1f}  p99 {t['p99_ms']:7.1f} ms"
                          + (f"   ({t['reported_in_year']:,} reported in the year)" if t["reported_in_year"] else ""))
    small, big = steps[0]["reports"], steps[-1]["reports"]
    growth = {level: round(big[level]["p99_ms"] / small[level]["p99_ms"], 2) for level in big}
    print(f"  ratio, p99 at {steps[-1]['hazards']:,} / p99 at {steps[0]['hazards']:,}: "
          + ", ".join(f"{level} {ratio}×" for level, ratio in growth.items()))
    return {"steps": steps, "p99_growth": growth}


# ---- the run ----------------------------------------------------------------------------------

async def main(args) -> dict:
    city = load_demo_city()
    issuer = LocalIssuer()
    await ensure_topics(stack_env()["LINKDUTY_KAFKA_BOOTSTRAP"], [TopicSpec(t, 3, 1, 3_600_000)
                                                                for t in (TOPIC, UNITS_TOPIC, ALARMS_TOPIC, VOLUNTEERS_TOPIC,
                                                                          DEVICES_TOPIC)])
    result: dict = {"machine": os.uname().nodename, "cpus": os.cpu_count()}
    log_dir = Path(tempfile.mkdtemp(prefix="bench-hazards-"))

    parts = set(args.parts.split(","))
    if "statistics" in parts:
        result["statistics"] = await statistics(args, issuer, city, log_dir)
    if "intake" in parts:
        await intake_part(args, issuer, city, log_dir, result)
    if "list" in parts:
        await list_part(args, issuer, city, log_dir, result)
    return result


async def intake_part(args, issuer: LocalIssuer, city, log_dir: Path, result: dict) -> None:
    print(f"hazards: intake, {args.reports} reports with one photo each, {args.concurrency} residents at once")
    async with fresh_schema(pool_size=2) as (schema, _), contextlib.AsyncExitStack() as stack:
        objects = log_dir / "objects"
        settings = settings_for(schema_dsn(schema), objects, issuer)
        client = await stack.enter_async_context(served("hazards.main", settings, SETTINGS_FIELDS, log_dir))
        client.timeout = httpx.Timeout(120)
        for warm in range(2):  # the first decode and the first report warm caches and prepared statements
            photo = phone_photo(1000 + warm)
            headers = {"Authorization": "Bearer " + issuer.issue(f"bench-warm-{warm}", ["hazards:report"],
                                                                  jurisdiction=[city.city.code])}
            up = await client.post("/v1/photos", headers=headers, files={"file": ("w.jpg", photo, "image/jpeg")})
            assert up.status_code == 201, up.text
        served_intake = await intake(client, issuer, city, reports=args.reports, concurrency=args.concurrency)
        photo = phone_photo(0)
        direct = await direct_writes(ObjectStore.from_settings(settings, prefix="bench-direct"), photo,
                                     writes=args.reports, concurrency=args.concurrency)
        alone = processing_alone(photo, runs=10)
    result["intake"] = served_intake | {"direct_store_write": direct, "processing_alone": alone,
                                        "report_p50_over_direct_write_p50": round(
                                            served_intake["report"]["p50_ms"] / direct["write"]["p50_ms"], 1)}
    r = result["intake"]
    print(f"  photo {r['photo_bytes'] / 1e6:.2f} MB, 4032×3024 JPEG with GPS EXIF")
    print(f"  report (upload + POST)  p50 {r['report']['p50_ms']:8.1f}  p99 {r['report']['p99_ms']:8.1f} ms   "
          f"{r['reports_per_s']} reports/s")
    print(f"    upload                p50 {r['upload']['p50_ms']:8.1f}  p99 {r['upload']['p99_ms']:8.1f} ms")
    print(f"    POST /v1/hazards      p50 {r['post']['p50_ms']:8.1f}  p99 {r['post']['p99_ms']:8.1f} ms")
    print(f"  same bytes, same store, directly: p50 {direct['write']['p50_ms']:.2f}  p99 {direct['write']['p99_ms']:.2f} ms"
          f"   {direct['writes_per_s']} writes/s")
    print(f"  processing alone (one thread): p50 {alone['p50_ms']:.1f}  p99 {alone['p99_ms']:.1f} ms")
    print(f"  ratio, report p50 / direct write p50: {r['report_p50_over_direct_write_p50']}×")


async def list_part(args, issuer: LocalIssuer, city, log_dir: Path, result: dict) -> None:

    print(f"hazards: a street's list with {args.hazards:,} hazards in the store")
    async with fresh_schema(pool_size=4) as (schema, pool):
        settings = settings_for(schema_dsn(schema), log_dir / "objects-list", issuer)
        loaded = await load_hazards(settings, city, args.hazards)
        print(f"  loaded {loaded['hazards']:,} through HazardsService.report in {loaded['seconds']} s "
              f"({loaded['reports_per_s']} reports/s)")
        await pool.execute("ANALYZE hazard_list")
        lists: dict = {"loaded": loaded}
        async with served("hazards.main", settings, SETTINGS_FIELDS, log_dir) as client:
            await asyncio.sleep(3)  # the sweep's first pass, at start, is over
            for level in ("street", "community", "district"):
                code, rows = await busiest(pool, level)
                headers = {"Authorization": "Bearer " + issuer.issue(f"bench-{level}-centre", ["hazards:read"],
                                                                      jurisdiction=[code])}
                pages = await list_pages(client, headers, requests=args.lists, depth=9)
                sql = await list_sql(pool, code, runs=args.lists)
                lists[level] = {"code": code, "hazards_inside": rows, **pages, "sql_first_page": sql}
                print(f"  {level:9} {code} ({rows:,} of them): first page p50 {pages['first_page']['p50_ms']:.1f} "
                      f"p99 {pages['first_page']['p99_ms']:.1f} ms; pages 2–10 p50 {pages['deeper_pages']['p50_ms']:.1f} "
                      f"p99 {pages['deeper_pages']['p99_ms']:.1f} ms; the query alone p50 {sql['p50_ms']:.2f} "
                      f"p99 {sql['p99_ms']:.2f} ms")
    result["list"] = lists


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--hazards", type=int, default=100_000)
    parser.add_argument("--lists", type=int, default=1000)
    parser.add_argument("--stats-hazards", type=int, default=1_000_000)
    parser.add_argument("--stats-inspections", type=int, default=200_000)
    parser.add_argument("--report-requests", type=int, default=100)
    parser.add_argument("--parts", default="intake,list,statistics", help="which parts to run, comma-separated")
    parser.add_argument("--quick", action="store_true",
                        help="20 reports, 2,000 hazards, 100 lists, statistics of 20,000 hazards")
    args = parser.parse_args(argv)
    if args.quick:
        args.reports, args.hazards, args.lists = 20, 2_000, 100
        args.stats_hazards, args.stats_inspections, args.report_requests = 20_000, 4_000, 20
    result = asyncio.run(main(args))
    print(f"  results written to {save('hazards', result)}")


if __name__ == "__main__":
    cli()
