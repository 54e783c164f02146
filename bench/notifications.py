"""`linkage.notifications` per centre or per event: what each shape costs, on the real components.

    ./linkduty bench notifications [--rate 50] [--seconds 60] [--runs 3] [--shapes per_centre,per_event]

Each run has topics, consumer groups and a PostgreSQL schema of its own, and runs, each as its own
process: a linkage worker with `notifications_shape` set, the gateway (its feed in a fresh schema
of linkduty_bench), and the consoles (an SSE stream for every centre of the demo city). The runs
alternate the shapes (per_centre, per_event, per_centre, …), back to back on the same machine.

The bench itself produces what linkage consumes, at a fixed rate (an open model), so that the
alarms and units services, which cost the same in both shapes, add neither load nor noise. Each
alarm is the chain a 119 call with its joint dispatch makes (bench critical_path):
  t+0      AlarmReported (alarms.events)
  t+0.3 s  DispatchPlanned with 3 assignments, and its 3 DispatchOrderIssued (units.events; linkage
           passes the orders over unparsed)
  t+0.8 s  the 3 DispatchOrderAcknowledged
  t+1.5 s  AlarmAcknowledged by the alarm's community centre
so 6 records per alarm reach the consoles. One alarm in five is a major fire, which the
neighbouring streets' centres see too: about 5 centres per record.

Measured over a window from the first alarm sent to the moment the linkage worker and the gateway
have read everything (their consumer groups have no lag), after a warm-up at the same rate:
- CPU seconds per alarm (utime + stime, /proc/<pid>/stat) of the linkage worker, the gateway, the
  gateway's PostgreSQL backends (found by their application_name), and the Kafka broker. Others
  use the broker too: its CPU rate in a quiet spell just before the window is subtracted, and the
  raw figure is printed beside it. PostgreSQL's shared processes (WAL writer, checkpointer) are
  not counted.
- records and bytes (key + value + headers; and the growth of the broker's log files) on the
  run's notifications topic per alarm, and records on the linkage app's changelog topics;
- console latency: AlarmReported produced → read on each of its centres' SSE streams, p50/p99,
  with lost and duplicated deliveries counted.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import collections
import contextlib
import dataclasses
import datetime as dt
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import uvloop
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from bench.common import ROOT, bench_dsn, save, stack_env, summarize_ms
from bench.critical_path import Consoles, wait_until_drained
from linkage.routing import DEFAULT_RULES, RoutingConfig, recipients
from linkage.summary import fold
from linkduty_shared.auth.issuer import LocalIssuer
from linkduty_shared.events.envelope import Envelope, envelope_to_kafka
from linkduty_shared.jurisdictions import Level, load_demo_city
from linkduty_shared.messaging.kafka import reliable_producer
from linkduty_shared.messaging.topics import TopicSpec, dlq_topic, ensure_topics

SHAPES = ("per_centre", "per_event")
PARTITIONS = 6  # alarms, units and hazards topics (linkage's inputs are co-partitioned)
NOTIFICATION_PARTITIONS = 12  # as topics.toml and k8s have linkage.notifications
CLK_TCK = os.sysconf("SC_CLK_TCK")
MAJOR_SHARE = 0.2
CHAIN_S = (0.3, 0.8, 1.5)  # when an alarm's plan, acknowledged orders and acknowledgement follow its report
ROUTED_PER_ALARM = 6  # records per alarm that linkage routes to the consoles (see the module)
TRACE = "00-{}-{}-01"
RUN_ATTEMPTS = 3  # a run that fails (the broker restarted under it, say) is run again, this many times in all


# ---- CPU from /proc ------------------------------------------------------------------------

def cpu_s(pid: int) -> float | None:
    """utime + stime of a process (all its threads), seconds; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK, sum(values[:8]) / CLK_TCK


@dataclasses.dataclass(frozen=True)
class Broker:
    pid: int
    log_dir: Path | None  # its log.dirs (the first), to weigh a topic's log files


def find_broker(bootstrap: str) -> Broker | None:
    """The local broker listening on `bootstrap`: the kafka.Kafka process whose server.properties
    (its last argument) lists that listener."""
    found = subprocess.run(["pgrep", "-f", "kafka.Kafka"], capture_output=True, text=True).stdout.split()
    for pid in map(int, found):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            props = Path(args[args.index("kafka.Kafka") + 1]).read_text().splitlines()
        except (OSError, ValueError, IndexError):
            continue
        settings = dict(line.split("=", 1) for line in props if "=" in line and not line.startswith("#"))
        if bootstrap in settings.get("listeners", ""):
            log_dir = settings.get("log.dirs", settings.get("log.dir", "")).split(",")[0]
            return Broker(pid, Path(log_dir) if log_dir else None)
    return None


def topic_disk_bytes(log_dir: Path | None, topic: str) -> int | None:
    if log_dir is None:
        return None
    return sum(f.stat().st_size for d in log_dir.glob(f"{topic}-*") if d.name.rsplit("-", 1)[0] == topic
               for f in d.glob("*.log"))


class Meter:
    """CPU seconds of the measured processes (and the gateway's PostgreSQL backends) between two
    `snapshot()`s, by `spent()`."""

    def __init__(self, pids: dict[str, int], pg_dsn: str, pg_application: str) -> None:
        self._pids = pids
        self._pg_dsn = pg_dsn
        self._pg_application = pg_application
        self.lost_backends = 0

    async def _backends(self) -> dict[int, float]:
        conn = await asyncpg.connect(self._pg_dsn)
        try:
            pids = [r["pid"] for r in await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1", self._pg_application)]
        finally:
            await conn.close()
        return {pid: cpu for pid in pids if (cpu := cpu_s(pid)) is not None}

    async def snapshot(self) -> dict:
        return {"at": time.monotonic(), "machine": machine_busy_s(), "pids": {n: cpu_s(p) for n, p in self._pids.items()},
                "backends": await self._backends()}

    def spent(self, before: dict, after: dict) -> dict[str, float]:
        out = {name: after["pids"][name] - before["pids"][name] for name in self._pids
               if after["pids"][name] is not None and before["pids"][name] is not None}
        self.lost_backends = len(before["backends"].keys() - after["backends"].keys())
        out["postgres"] = sum(cpu - before["backends"].get(pid, 0.0) for pid, cpu in after["backends"].items())
        busy = after["machine"][0] - before["machine"][0]
        total = after["machine"][1] - before["machine"][1]
        out["machine_busy_share"] = busy / total if total else float("nan")
        out["seconds"] = after["at"] - before["at"]
        return out


# ---- the run's components -------------------------------------------------------------------

@dataclasses.dataclass
class Run:
    shape: str
    name: str  # unique: topics, groups, app id, schema
    topics: dict[str, str]
    app_id: str
    gateway_group: str
    gateway_url: str
    pg_dsn: str  # the gateway's
    pg_application: str
    linkage: subprocess.Popen
    gateway: subprocess.Popen
    workdir: Path


def code_path() -> str:
    """PYTHONPATH for the components: the linkage, gateway and shared code this bench imports, so
    that the processes it starts run the same code (a worktree's, not an installed copy)."""
    roots = [str(Path(importlib.util.find_spec(p).origin).parents[1]) for p in ("linkage", "gateway", "linkduty_shared")]
    return os.pathsep.join(dict.fromkeys([*roots, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def components(shape: str, bootstrap: str, issuer: LocalIssuer):
    """A linkage worker and a gateway on the run's own topics and schema, torn down afterwards."""
    name = f"bn{uuid.uuid4().hex[:8]}"
    topics = {k: f"bench.{name}.{k}" for k in ("alarms", "units", "hazards", "volunteers", "commands", "notifications")}
    specs = [TopicSpec(t, NOTIFICATION_PARTITIONS if k == "notifications" else PARTITIONS, 1, 3_600_000)
             for k, t in topics.items()]
    await ensure_topics(bootstrap, specs + [TopicSpec(dlq_topic(t), 1, 1, 3_600_000) for t in topics.values()])
    admin = await asyncpg.connect(bench_dsn())
    await admin.execute(f"CREATE SCHEMA {name}")
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    app_id, gateway_group, port = f"{name}-linkage", f"{name}-gateway", free_port()
    pg_dsn = f"{bench_dsn()}?application_name={name}-gateway&options=-csearch_path%3D{name}"
    base = {**os.environ, "LINKDUTY_KAFKA_BOOTSTRAP": bootstrap, "PYTHONPATH": code_path()}
    linkage = subprocess.Popen(
        [sys.executable, "-m", "linkage.main", "worker", "--loglevel", "warn"], cwd=ROOT,
        env={**base, "LINKDUTY_APP_ID": app_id, "LINKDUTY_ALARMS_TOPIC": topics["alarms"],
             "LINKDUTY_UNITS_TOPIC": topics["units"], "LINKDUTY_HAZARDS_TOPIC": topics["hazards"],
             "LINKDUTY_VOLUNTEERS_TOPIC": topics["volunteers"], "LINKDUTY_NOTIFICATIONS_TOPIC": topics["notifications"],
             "LINKDUTY_COMMANDS_TOPIC": topics["commands"], "LINKDUTY_PARTITIONS": str(PARTITIONS),
             "LINKDUTY_NOTIFICATIONS_SHAPE": shape, "LINKDUTY_DATA_DIR": str(workdir / "linkage"),
             "LINKDUTY_ACK_TIMEOUT_SCALE": "100"},  # no escalation within a run: it would load one shape's run only
        stdout=(workdir / "linkage.log").open("w"), stderr=subprocess.STDOUT)
    gateway = subprocess.Popen(
        [sys.executable, "-m", "gateway.main"], cwd=ROOT,
        env={**base, "LINKDUTY_SERVICE_NAME": gateway_group, "LINKDUTY_PG_DSN": pg_dsn, "LINKDUTY_PORT": str(port),
             "LINKDUTY_HOST": "127.0.0.1", "LINKDUTY_NOTIFICATIONS_TOPIC": topics["notifications"],
             "LINKDUTY_AUTH_JWKS_FILE": str(issuer.jwks_file), "LINKDUTY_AUTH_ISSUER": issuer.issuer,
             "LINKDUTY_PG_POOL_MAX": "10"},
        stdout=(workdir / "gateway.log").open("w"), stderr=subprocess.STDOUT)
    run = Run(shape, name, topics, app_id, gateway_group, f"http://127.0.0.1:{port}", pg_dsn, f"{name}-gateway",
              linkage, gateway, workdir)
    done = False
    try:
        yield run
        done = True
    finally:
        for proc in (linkage, gateway):
            proc.terminate()
        for proc in (linkage, gateway):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        await admin.execute(f"DROP SCHEMA {name} CASCADE")
        await admin.close()
        await _delete_topics(bootstrap, [*topics.values(), *map(dlq_topic, topics.values())], prefix=f"{app_id}-")
        if done:
            shutil.rmtree(workdir, ignore_errors=True)  # kept when the run failed: its logs


async def _delete_topics(bootstrap: str, names: list[str], *, prefix: str, attempts: int = 12) -> None:
    """Delete the run's topics and its app's (changelogs), waiting out a broker that is down (others
    restart it) rather than leaving them behind."""
    for attempt in range(attempts):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            doomed = sorted((set(names) & existing) | {t for t in existing if t.startswith(prefix)})
            if doomed:
                await admin.delete_topics(doomed, timeout_ms=30_000)
            return
        except KafkaError as exc:
            if attempt == attempts - 1:
                print(f"  could not delete the run's topics ({exc!r}): {', '.join(names)} and {prefix}*", flush=True)
                return
            await asyncio.sleep(10)
        finally:
            await admin.close()


async def wait_ready(run: Run, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=run.gateway_url, timeout=2) as http:
        while True:
            for proc, what in ((run.linkage, "linkage"), (run.gateway, "gateway")):
                if proc.poll() is not None:
                    raise RuntimeError(f"the {what} process exited ({proc.returncode}): see {run.workdir}/{what}.log")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the gateway was not ready within {timeout_s} s: see {run.workdir}")
            await asyncio.sleep(0.5)


# ---- the load ----------------------------------------------------------------------------

class Load:
    """Alarms and their chains (see the module), produced as the alarms and units services would."""

    def __init__(self, city, run: Run, producer, rng: random.Random) -> None:
        self.city, self.run, self.producer, self.rng = city, run, producer, rng
        self.grids = city.divisions(level=Level.GRID)
        self.rules = RoutingConfig.load(DEFAULT_RULES).rules
        self.reported_at: dict[str, float] = {}  # alarm id → monotonic, when its AlarmReported was sent
        self.audience: dict[str, tuple[str, ...]] = {}  # alarm id → the centres that must see it
        self.tasks: list[asyncio.Task] = []

    async def _send(self, topic: str, envelope: Envelope) -> None:
        message = envelope_to_kafka(envelope)
        await self.producer.send(topic, value=message.value, key=envelope.subject.encode(),
                                 headers=list(message.headers.items()))

    def _envelope(self, stream: str, name: str, alarm_id: str, version: int, data: dict, trace: str) -> Envelope:
        return Envelope(id=str(uuid.uuid4()), source=f"/linkduty/{stream}", type=f"linkduty.{stream}.{name}",
                        subject=alarm_id, time=dt.datetime.now(dt.UTC), data=data, streamversion=version,
                        traceparent=trace, correlationid=alarm_id, actor="bench-intake", agency="119")

    async def alarm(self) -> None:
        """One alarm's chain, over CHAIN_S[-1] seconds."""
        alarm_id, rng = str(uuid.uuid4()), self.rng
        grid = self.grids[rng.randrange(len(self.grids))]
        chain = self.city.resolve(grid.lat, grid.lon)
        jurisdiction = {level: getattr(chain, level).code for level in ("grid", "community", "street", "district",
                                                                         "city")}
        severity = "major" if rng.random() < MAJOR_SHARE else "moderate"
        now = dt.datetime.now(dt.UTC).isoformat()
        trace = TRACE.format(uuid.uuid4().hex, uuid.uuid4().hex[:16])
        reported = {"alarm_id": alarm_id, "call_id": str(uuid.uuid4()), "source": "119", "received_at": now,
                    "kind": "fire", "severity": severity, "description": "居民楼厨房起火，有烟，无人被困",
                    "location": {"lat": grid.lat, "lon": grid.lon, "address": "某街道某小区3幢2单元"},
                    "jurisdiction": jurisdiction, "caller_masked": "138****5678"}
        summary = fold(None, alarm_id, "AlarmReported", reported, 1)
        self.audience[alarm_id] = tuple(recipients(self.city, summary, self.rules))
        self.reported_at[alarm_id] = time.monotonic()
        await self._send(self.run.topics["alarms"], self._envelope("alarm", "AlarmReported", alarm_id, 1, reported, trace))
        units = [f"fs-{jurisdiction['district'][:6]}-0{k}" for k in (1, 2)] + [f"team-{jurisdiction['street']}"]
        await asyncio.sleep(CHAIN_S[0])
        planned = {"alarm_id": alarm_id, "trigger": "AlarmReported", "run_card": f"fire.{severity}",
                   "alarm": {"kind": "fire", "severity": severity, "lat": grid.lat, "lon": grid.lon,
                             "community_code": jurisdiction["community"], "street_code": jurisdiction["street"],
                             "received_at": now, "jurisdiction": jurisdiction},
                   "assignments": [{"force_id": u, "force_kind": "fire_rescue_station" if u.startswith("fs") else
                                    "street_team", "role": role, "eta_s": 300 + 60 * k,
                                    "reason": "the nearest available force by estimated travel time", "units": ["engine"]}
                                   for k, (u, role) in enumerate(zip(units, ("main", "auxiliary_1", "auxiliary_2")))],
                   "skipped": [{"force_id": "fs-000000-09", "role": "main", "why": "already dispatched"}],
                   "shortfall": []}
        units_topic = self.run.topics["units"]
        await self._send(units_topic, self._envelope("dispatch", "DispatchPlanned", alarm_id, 1, planned, trace))
        for k, assignment in enumerate(planned["assignments"], start=2):
            await self._send(units_topic, self._envelope("dispatch", "DispatchOrderIssued", alarm_id, k, {
                "alarm_id": alarm_id, "unit_id": assignment["force_id"], "force_kind": assignment["force_kind"],
                "role": assignment["role"], "estimated_eta_s": assignment["eta_s"], "reason": assignment["reason"],
                "appliances": ["engine"], "issued_at": now, "answer_by": now, "replaces": None}, trace))
        await asyncio.sleep(CHAIN_S[1] - CHAIN_S[0])
        for k, unit in enumerate(units, start=5):
            await self._send(units_topic, self._envelope("dispatch", "DispatchOrderAcknowledged", alarm_id, k, {
                "alarm_id": alarm_id, "unit_id": unit, "eta_s": 300, "by": f"app-{unit}",
                "at": dt.datetime.now(dt.UTC).isoformat()}, trace))
        await asyncio.sleep(CHAIN_S[2] - CHAIN_S[1])
        await self._send(self.run.topics["alarms"], self._envelope("alarm", "AlarmAcknowledged", alarm_id, 2, {
            "centre_id": self.city.centre_of(jurisdiction["community"]).id, "level": "community",
            "by": "community-console"}, trace))

    async def at_rate(self, rate: float, seconds: float) -> list[str]:
        """Alarms started at `rate` per second for `seconds`; returns their ids once every chain is sent."""
        before = set(self.reported_at)
        start = time.monotonic()
        tasks = []
        for i in range(int(rate * seconds)):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.alarm()))
        await asyncio.gather(*tasks)
        await self.producer.flush()
        return [a for a in self.reported_at if a not in before]


# ---- what the topic carried -------------------------------------------------------------------

async def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await probe.start()
    try:
        described = await admin.describe_topics(topics)  # a consumer's metadata of a busy broker can lag
        tps = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
        return await probe.end_offsets(tps)
    finally:
        await probe.stop()
        await admin.close()


async def changelog_topics(bootstrap: str, app_id: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(t for t in await admin.list_topics() if t.startswith(f"{app_id}-") and t.endswith("-changelog"))
    finally:
        await admin.close()


async def carried(bootstrap: str, start: dict[TopicPartition, int], end: dict[TopicPartition, int]) -> tuple[int, int]:
    """(records, bytes of key + value + headers) between two sets of offsets."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records = size = 0
    try:
        wanted = {tp: end[tp] for tp in end if end[tp] > start.get(tp, 0)}
        consumer.assign(list(wanted))
        for tp in wanted:
            consumer.seek(tp, start.get(tp, 0))
        while wanted:
            for tp, batch in (await consumer.getmany(*wanted, timeout_ms=1000)).items():
                for r in batch:
                    if r.offset < wanted.get(tp, 0):
                        records += 1
                        size += len(r.key or b"") + len(r.value or b"") + sum(len(k) + len(v) for k, v in r.headers)
                if batch and batch[-1].offset + 1 >= wanted.get(tp, 0):
                    wanted.pop(tp, None)
    finally:
        await consumer.stop()
    return records, size


# ---- one run --------------------------------------------------------------------------------

async def measure(shape: str, *, rate: float, seconds: float, warmup_s: float, baseline_s: float, city,
                  issuer: LocalIssuer, bootstrap: str, seed: int) -> dict:
    broker = find_broker(bootstrap)
    kafka_pid, log_dir = (broker.pid, broker.log_dir) if broker else (None, None)
    async with components(shape, bootstrap, issuer) as run:
        await wait_ready(run)
        tokens = {c.id: issuer.issue(f"bench-console-{c.id}", ["stream:read"], centre=c.id) for c in city.centres()}
        groups = (run.app_id, run.gateway_group)
        producer = reliable_producer(bootstrap, client_id=f"{run.name}-load")
        await producer.start()
        try:
            async with Consoles(tokens, processes=1, url=run.gateway_url) as consoles:
                load = Load(city, run, producer, random.Random(seed))
                # the worker is in its group and routing once a first alarm is fed to the gateway
                first = asyncio.create_task(load.alarm())
                await _wait_for_feed(run)
                await first
                await load.at_rate(rate, warmup_s)  # not counted: caches, buffers, the first of everything
                await wait_until_drained(bootstrap, groups=groups)
                pids = {"linkage": run.linkage.pid, "gateway": run.gateway.pid, "kafka": kafka_pid,
                        "bench": os.getpid(), "consoles": consoles.pids[0]}  # the last two: the harness's share
                meter = Meter({k: v for k, v in pids.items() if v}, bench_dsn(), run.pg_application)
                quiet_from = await meter.snapshot()
                await asyncio.sleep(baseline_s)
                quiet = meter.spent(quiet_from, await meter.snapshot())
                notifications_topic = run.topics["notifications"]
                changelogs = await changelog_topics(bootstrap, run.app_id)
                offsets_from = await end_offsets(bootstrap, [notifications_topic, *changelogs])
                disk_from = topic_disk_bytes(log_dir, notifications_topic)
                window_from = await meter.snapshot()
                alarms = await load.at_rate(rate, seconds)
                lag = await wait_until_drained(bootstrap, groups=groups)
                window = meter.spent(window_from, await meter.snapshot())
                offsets_to = await end_offsets(bootstrap, [notifications_topic, *changelogs])
                disk_to = topic_disk_bytes(log_dir, notifications_topic)
                await asyncio.sleep(1.0)  # the last rows reach the consoles
                await consoles.collect()
        finally:
            await producer.stop()
        crashed = [what for what, proc in (("linkage", run.linkage), ("gateway", run.gateway)) if proc.poll() is not None]
        topic = {tp: o for tp, o in offsets_to.items() if tp.topic == notifications_topic}
        records, size = await carried(bootstrap, offsets_from, topic)
        changelog = sum(o - offsets_from.get(tp, 0) for tp, o in offsets_to.items() if tp.topic != notifications_topic)
    now = find_broker(bootstrap)
    kafka_now = now.pid if now else None
    return figures(shape, alarms, load, consoles, window, quiet, records=records, size=size, changelog=changelog,
                   disk=None if disk_from is None or disk_to is None else disk_to - disk_from, lag=lag,
                   broker_restarted=kafka_pid is not None and kafka_now != kafka_pid, crashed=crashed,
                   lost_backends=meter.lost_backends)


async def _wait_for_feed(run: Run, timeout_s: float = 90.0) -> None:
    conn = await asyncpg.connect(run.pg_dsn)
    try:
        deadline = time.monotonic() + timeout_s
        while not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM centre_feed)"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no notification reached the gateway's feed within {timeout_s} s: see {run.workdir}")
            if run.linkage.poll() is not None or run.gateway.poll() is not None:
                raise RuntimeError(f"a component exited: see {run.workdir}")
            await asyncio.sleep(0.25)
    finally:
        await conn.close()


def figures(shape: str, alarms: list[str], load: Load, consoles: Consoles, window: dict, quiet: dict, *,
            records: int, size: int, changelog: int, disk: int | None, lag: int, broker_restarted: bool,
            crashed: list[str], lost_backends: int) -> dict:
    n = len(alarms)
    measured = set(alarms)
    expected = {(a, c) for a in alarms for c in load.audience[a]}
    latencies, seen = [], collections.Counter()
    for centre, alarm, _version, notification, arrived, _ in consoles.arrivals:
        if alarm not in measured:
            continue
        seen[(centre, notification)] += 1
        if seen[(centre, notification)] == 1 and (alarm, centre) in expected:
            latencies.append(arrived - load.reported_at[alarm])
    delivered = {(alarm, centre) for centre, alarm, *_ in consoles.arrivals if alarm in measured}
    kafka_baseline_rate = quiet.get("kafka", float("nan")) / quiet["seconds"]
    kafka_raw = window.get("kafka", float("nan"))
    kafka_net = kafka_raw - kafka_baseline_rate * window["seconds"]  # nan: no local broker found to measure
    cpu = {"linkage": window.get("linkage"), "gateway": window.get("gateway"),
           "kafka": None if kafka_net != kafka_net else kafka_net, "postgres": window["postgres"]}
    per_alarm_ms = {k: round(v / n * 1000, 3) for k, v in cpu.items() if v is not None}
    per_alarm_ms["total"] = round(sum(per_alarm_ms.values()), 3)
    harness = {k: round(window[k] / n * 1000, 3) for k in ("bench", "consoles") if k in window}
    return {
        "shape": shape, "alarms": n, "window_s": round(window["seconds"], 1),
        "centres_per_record": round(statistics.fmean(len(load.audience[a]) for a in alarms), 2),
        "cpu_ms_per_alarm": per_alarm_ms,
        "harness_cpu_ms_per_alarm": harness,  # the load generator and the consoles, not counted in the total
        "kafka_cpu_s": {"raw": round(kafka_raw, 2), "quiet_rate_per_s": round(kafka_baseline_rate, 3),
                        "net": round(kafka_net, 2)},
        "idle_cpu_per_s": {k: round(quiet[k] / quiet["seconds"], 3) for k in ("linkage", "gateway", "postgres")
                           if k in quiet},
        "machine_busy_share": round(window["machine_busy_share"], 3),
        "notifications": {"records_per_alarm": round(records / n, 2), "bytes_per_alarm": round(size / n),
                          "disk_bytes_per_alarm": None if disk is None else round(disk / n),
                          "bytes_per_record": round(size / records) if records else None},
        "changelog_records_per_alarm": round(changelog / n, 2),
        "console_latency": summarize_ms(latencies),
        # from the notifications' own times (wall clock): alarm event → routed by linkage → on screen
        "stages": {"event_to_routed": summarize_ms([r - o for a, o, r, _ in consoles.stages if a in measured]),
                   "routed_to_screen": summarize_ms([w - r for a, _, r, w in consoles.stages if a in measured])},
        "lost": len(expected - delivered),
        "duplicated": sum(k - 1 for k in seen.values() if k > 1),
        "valid": not (broker_restarted or crashed or lag or lost_backends),
        "problems": [p for p, bad in (("the broker restarted", broker_restarted), (f"crashed: {crashed}", crashed),
                                      (f"{lag} records unread", lag),
                                      (f"{lost_backends} PostgreSQL backends gone", lost_backends)) if bad],
    }


# ---- the report ---------------------------------------------------------------------------

def report_run(r: dict) -> None:
    c, n, lat, st = r["cpu_ms_per_alarm"], r["notifications"], r["console_latency"], r["stages"]
    h = r["harness_cpu_ms_per_alarm"]
    print(f"  {r['shape']:10s} {r['alarms']} alarms in {r['window_s']} s, {r['centres_per_record']} centres/record;"
          f" CPU ms/alarm: linkage {c.get('linkage', float('nan')):.2f}  gateway {c.get('gateway', float('nan')):.2f}"
          f"  kafka {c.get('kafka', float('nan')):.2f} (raw {r['kafka_cpu_s']['raw']} s, quiet"
          f" {r['kafka_cpu_s']['quiet_rate_per_s']} s/s)  postgres {c['postgres']:.2f}  total {c['total']:.2f};"
          f" machine busy {r['machine_busy_share']:.0%} (the bench's load {h.get('bench', float('nan')):.2f}, consoles"
          f" {h.get('consoles', float('nan')):.2f} ms/alarm)", flush=True)
    print(f"  {'':10s} topic: {n['records_per_alarm']} records, {n['bytes_per_alarm']} B/alarm"
          f" ({n['bytes_per_record']} B/record, {n['disk_bytes_per_alarm']} B/alarm on disk);"
          f" changelog {r['changelog_records_per_alarm']} records/alarm; console p50 {lat['p50_ms']} p99 {lat['p99_ms']}"
          f" max {lat['max_ms']} ms (n={lat['count']}; event → routed p50 {st['event_to_routed']['p50_ms']} p99"
          f" {st['event_to_routed']['p99_ms']}, routed → screen p50 {st['routed_to_screen']['p50_ms']} p99"
          f" {st['routed_to_screen']['p99_ms']}); lost {r['lost']}, duplicated {r['duplicated']}"
          + ("" if r["valid"] else f"; NOT VALID: {', '.join(r['problems'])}"), flush=True)


def summary(runs: list[dict]) -> dict:
    """Per shape: mean and range over its valid runs of each figure; and per_event / per_centre."""
    def stat(values: list[float]) -> dict:
        return {"mean": round(statistics.fmean(values), 3), "min": round(min(values), 3), "max": round(max(values), 3),
                "runs": len(values)}

    keys = {"linkage": ("cpu_ms_per_alarm", "linkage"), "gateway": ("cpu_ms_per_alarm", "gateway"),
            "kafka": ("cpu_ms_per_alarm", "kafka"), "postgres": ("cpu_ms_per_alarm", "postgres"),
            "total": ("cpu_ms_per_alarm", "total"), "records_per_alarm": ("notifications", "records_per_alarm"),
            "bytes_per_alarm": ("notifications", "bytes_per_alarm"),
            "disk_bytes_per_alarm": ("notifications", "disk_bytes_per_alarm"),
            "latency_p50_ms": ("console_latency", "p50_ms"), "latency_p99_ms": ("console_latency", "p99_ms")}
    out: dict = {}
    for shape in SHAPES:
        valid = [r for r in runs if r["shape"] == shape and r["valid"]]
        if valid:
            out[shape] = {k: stat(vals) for k, (a, b) in keys.items()
                          if (vals := [r[a][b] for r in valid if r[a].get(b) is not None])}
    if all(s in out for s in SHAPES):
        out["ratio_per_event_to_per_centre"] = {
            k: round(out["per_event"][k]["mean"] / out["per_centre"][k]["mean"], 3)
            for k in out["per_centre"] if k in out["per_event"] and out["per_centre"][k]["mean"]}
    return out


def report_summary(s: dict) -> None:
    print("  summary (mean [min–max] over the valid runs):")
    for shape in SHAPES:
        if shape in s:
            print(f"    {shape:10s} " + "; ".join(f"{k} {v['mean']:g} [{v['min']:g}–{v['max']:g}]"
                                                  for k, v in s[shape].items()))
    if "ratio_per_event_to_per_centre" in s:
        print("    per_event / per_centre: " + "; ".join(f"{k} {v:g}" for k, v in
                                                         s["ratio_per_event_to_per_centre"].items()))


async def main(args) -> dict:
    bootstrap = stack_env()["LINKDUTY_KAFKA_BOOTSTRAP"]
    city = load_demo_city()
    keys = Path(tempfile.mkdtemp(prefix="bench-notifications-auth-"))
    issuer = LocalIssuer(keys)
    shapes = [s.strip() for s in args.shapes.split(",")]
    print(f"notifications: {', '.join(shapes)} alternating, {args.runs} run(s) each, {args.rate} alarms/s for"
          f" {args.seconds} s (warm-up {args.warmup} s, quiet baseline {args.baseline} s)", flush=True)
    try:
        runs = []
        for i in range(args.runs):
            for shape in shapes:
                for attempt in range(1, RUN_ATTEMPTS + 1):
                    try:
                        r = await measure(shape, rate=args.rate, seconds=args.seconds, warmup_s=args.warmup,
                                          baseline_s=args.baseline, city=city, issuer=issuer, bootstrap=bootstrap,
                                          seed=args.seed + i)
                        if r["valid"] or attempt == RUN_ATTEMPTS:
                            break
                        print(f"  {shape} run not valid ({', '.join(r['problems'])}), attempt {attempt} of {RUN_ATTEMPTS}",
                              flush=True)
                    except (KafkaError, OSError, TimeoutError, RuntimeError) as exc:  # others restart the broker
                        print(f"  {shape} run failed ({exc!r}), attempt {attempt} of {RUN_ATTEMPTS}", flush=True)
                        if attempt == RUN_ATTEMPTS:
                            raise
                        await asyncio.sleep(30)
                report_run(r)
                runs.append(r)
    finally:
        shutil.rmtree(keys, ignore_errors=True)
    result = {"rate": args.rate, "seconds": args.seconds, "runs": runs, "summary": summary(runs)}
    report_summary(result["summary"])
    if args.save:
        print(f"  results written to {save('notifications', result)}")
    return result


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench notifications", description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=50)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--runs", type=int, default=3, help="runs of each shape, alternating")
    p.add_argument("--shapes", default=",".join(SHAPES))
    p.add_argument("--warmup", type=float, default=10)
    p.add_argument("--baseline", type=float, default=10, help="seconds of quiet before each window (Kafka's baseline)")
    p.add_argument("--seed", type=int, default=119)
    p.add_argument("--no-save", dest="save", action="store_false")
    return p


def cli(argv: list[str] | None = None) -> None:
    uvloop.run(main(parser().parse_args(argv)))


if __name__ == "__main__":
    cli()
