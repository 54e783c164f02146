"""Faults under load: each part of the running system killed (-9) or frozen (SIGSTOP) mid-load.

    ./linkduty up && ./linkduty bench faults [--parts linkage,kafka] [--signals kill,stop]
                                             [--rate 10] [--seconds 90] [--fault-at 30] [--down 8]
    LINKDUTY_KAFKA_BROKERS=3 ./linkduty up && ./linkduty bench faults --parts kafka-leader --times 5

    ./linkduty bench faults --parts services

The second form runs on a three-node Kafka cluster (replication 3, min.insync.replicas 2) and
kills, five times in a row, whichever node leads most partitions of alarms.events then. The third
restarts every service, one after the other (SIGTERM, then started again and ready).

The parts: each service; `relay-leader`, a standby outbox relay for the alarms database, made
the leader before the load, so that its fault is not the intake's (the alarms service's own relay
waits to take over); Kafka (node 1, or `kafka-leader` on a cluster); PostgreSQL (a freeze stops
every one of its processes).

As a client would see it, and checked in the manner of Jepsen's Kafka checker. 119 calls arrive at
a fixed rate (open model) in 12 communities of 4 districts, each POST with its own
Idempotency-Key, retried until answered. One console per centre that must see them (the
communities, their streets, districts and the city), plus two sibling communities that must see
nothing, each on the gateway's SSE stream and reconnecting with Last-Event-ID. `fault_at` seconds
into the load the part is killed (and started again by the project's scripts `down` seconds
later) or frozen for `down` seconds. After the load, a grace period for stragglers, then:

- lost: an accepted call (alarm, version) never shown on one of the consoles that must show it;
- duplicated: a console shown the same notification twice (across its reconnections too);
- misrouted: a console shown an alarm outside its jurisdiction;
- reordered: a console shown an alarm's versions out of order;
- unacknowledged: a call shown on a console whose POST was never answered 2xx;
- recovery: from the part's return (its start script says it is back; for a freeze, SIGCONT)
  until every later call reached all its consoles within 1 s; and the same from the moment it
  was started again (its start-up included).

`run_fault` is what tests/faults/test_system.py runs in its short form (each part killed once).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

from aiokafka.admin import AIOKafkaAdminClient

from bench.common import ROOT, save, stack_env
from linkduty_shared.auth.issuer import LocalIssuer
from linkduty_shared.contracts.alarms import CHAIN_LEVELS
from linkduty_shared.jurisdictions import Directory, load_demo_city
from linkduty_shared.outbox.relay import LEADER_KEY, LEADER_LOCK, LEADER_SESSION

ALARMS_URL = "http://127.0.0.1:8101"
GATEWAY_URL = "http://127.0.0.1:8104"
STATE = Path(os.environ.get("LINKDUTY_STATE", ROOT / ".state"))
CALL_EVENTS = ("AlarmReported", "CallLinked")


def _service_pid(name: str) -> Callable[[], int]:
    return lambda: int((STATE / "services" / f"{name}.pid").read_text())


def _postgres_pid() -> int:
    return int(_stack_sh("pg-pid"))  # the data folder is the cluster's own when a cluster runs


def _stack_sh(*command: str) -> str:
    """What a stack.sh *-pid command printed: the pid, when the script started that part and it runs."""
    out = subprocess.run([str(ROOT / "deploy/local/stack.sh"), *command], check=True, cwd=ROOT,
                         capture_output=True, text=True).stdout.strip()
    if not out:
        raise RuntimeError(f"stack.sh {' '.join(command)}: not running (or not started by stack.sh)")
    return out


def _kafka_node_pid(node: int) -> int:
    return int(_stack_sh("kafka-node-pid", str(node)))


def _kafka_pid() -> int:
    return _kafka_node_pid(1)


def _alarms_leader_pid() -> int:
    """The node leading most partitions of alarms.events (a cluster: LINKDUTY_KAFKA_BROKERS=3)."""
    async def leaders() -> collections.Counter:
        admin = AIOKafkaAdminClient(bootstrap_servers=stack_env()["LINKDUTY_KAFKA_BOOTSTRAP"])
        await admin.start()
        try:
            (topic,) = await admin.describe_topics(["alarms.events"])
            return collections.Counter(p["leader"] for p in topic["partitions"] if p["leader"] >= 0)
        finally:
            await admin.close()

    (node, _), = asyncio.run(leaders()).most_common(1)
    return _kafka_node_pid(node)


def _run(*command: str) -> None:
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _start_services() -> None:
    _run(str(ROOT / "deploy/local/services.sh"), "up")  # starts what is not running


def _start_stack() -> None:
    _run(str(ROOT / "deploy/local/stack.sh"), "up")


def _postgres_pids() -> list[int]:
    """The postmaster and every process it started (backends, checkpointer, WAL writer…): a freeze
    of the postmaster alone leaves open sessions running."""
    postmaster = _postgres_pid()
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
    return [postmaster, *map(int, children)]


# The standby relay of the alarms outbox that `relay-leader` runs beside the alarms service, so
# that the leader's lock has somewhere to go.
RELAY_LOG = STATE / "services" / "standby-relay.log"
_standby: list[subprocess.Popen] = []


def _start_standby_relay() -> None:
    env = stack_env()
    log = RELAY_LOG.open("a")
    _standby[:] = [subprocess.Popen(
        [str(ROOT / ".venv/bin/python"), "-m", "linkduty_shared.outbox", "--dsn",
         f"{env['LINKDUTY_PG_DSN'].rstrip('/')}/linkduty_alarms", "--bootstrap", env["LINKDUTY_KAFKA_BOOTSTRAP"],
         "--poll-interval", "0.5"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)]


def _standby_relay_leading() -> None:
    """The standby relay started, and made the leader: the alarms service restarted (its lock
    passes to the standby, and it waits), so that the part killed or frozen is a relay whose
    fault the intake does not share."""
    _start_standby_relay()
    time.sleep(3)  # started, and waiting for the lock
    _run(str(ROOT / "deploy/local/services.sh"), "restart", "alarms")
    if _relay_leader_pid() != _standby[0].pid:
        raise RuntimeError("the standby relay did not take the alarms outbox's lock")


def _stop_standby_relay() -> None:
    for relay in _standby:
        if relay.poll() is None:
            relay.send_signal(signal.SIGCONT)
            relay.terminate()
            relay.wait(20)
    _standby.clear()


def _relay_leader_pid() -> int:
    """The process whose session holds the alarms outbox's leader lock (application_name
    "<name>/<pid>", set by every pool: db.create_pool)."""
    async def holder() -> str:
        import asyncpg

        conn = await asyncpg.connect(f"{stack_env()['LINKDUTY_PG_DSN'].rstrip('/')}/linkduty_alarms")
        try:
            leader = await conn.fetchrow(LEADER_SESSION, await conn.fetchval(LEADER_KEY, LEADER_LOCK))
            return leader and leader["application_name"]
        finally:
            await conn.close()

    name = asyncio.run(holder())
    if not name:
        raise RuntimeError("no relay holds the alarms outbox's lock")
    return int(name.rsplit("/", 1)[1])


def _restart_relay_leader() -> None:
    """Whichever was killed comes back: the alarms service (services.sh), or the standby relay."""
    _start_services()
    if _standby and _standby[0].poll() is not None:
        _start_standby_relay()


@dataclasses.dataclass(frozen=True)
class Part:
    pid: Callable[[], int]
    start: Callable[[], None]  # brings it back after a kill (the project's own scripts)
    frozen: Callable[[], list[int]] | None = None  # the processes a freeze stops (default: pid's)
    beside: tuple[Callable[[], None], Callable[[], None]] | None = None  # started before the load, stopped after


SERVICES = ("alarms", "units", "linkage", "gateway")
PARTS = {
    "alarms": Part(_service_pid("alarms"), _start_services),  # the outbox relay runs in it (its leader)
    "units": Part(_service_pid("units"), _start_services),
    "linkage": Part(_service_pid("linkage"), _start_services),
    "gateway": Part(_service_pid("gateway"), _start_services),
    "kafka": Part(_kafka_pid, _start_stack),  # node 1 (the only one, unless a cluster runs)
    "kafka-leader": Part(_alarms_leader_pid, _start_stack),  # a cluster's: see --times
    "postgres": Part(_postgres_pid, _start_stack, frozen=_postgres_pids),
    # the relay publishing the alarms outbox: a standby beside the alarms service, made its leader
    # (with --times, whichever leads then)
    "relay-leader": Part(_relay_leader_pid, _restart_relay_leader, beside=(_standby_relay_leading, _stop_standby_relay)),
}


@dataclasses.dataclass
class Call:
    i: int
    sent_at: float
    attempts: int = 0
    answers: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    accepted_at: float | None = None
    alarm_id: str | None = None
    version: int | None = None
    centres: tuple[str, ...] = ()


@dataclasses.dataclass
class Shown:
    centre_id: str
    seq: int
    notification_id: str
    event_type: str
    alarm_id: str
    version: int
    description: str
    at: float


def watched(city: Directory, communities: int = 12, districts: int = 4) -> tuple[list, list[str], list[str]]:
    """`communities` communities spread over `districts` districts, the centres that must see
    their alarms, and two sibling communities' centres that must not."""
    chosen, siblings = [], []
    for district in city.children(city.city.code)[:districts]:
        streets = city.children(district.code)
        for street in streets[: communities // districts]:
            kids = city.children(street.code)
            chosen.append(kids[0])
            if len(siblings) < 2 and len(kids) > 1:
                siblings.append(city.centre_of(kids[1].code).id)
    centres = sorted({cid for c in chosen for cid in city.resolve(c.lat, c.lon).centre_ids()})
    return chosen, centres, siblings


class Console:
    """One centre's SSE stream, reconnecting with Last-Event-ID after any break."""

    def __init__(self, http: httpx.AsyncClient, centre_id: str, token: str, shown: list[Shown]) -> None:
        self.http, self.centre_id, self.token, self.shown = http, centre_id, token, shown
        self.last_id: str | None = None
        self.reconnects = 0

    async def follow(self) -> None:
        while True:
            headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
            if self.last_id is not None:
                headers["Last-Event-ID"] = self.last_id
            try:
                async with self.http.stream("GET", f"{GATEWAY_URL}/v1/centres/{self.centre_id}/stream",
                                            headers=headers) as r:
                    if r.status_code == 200:
                        await self._read(r)
            except httpx.HTTPError:
                pass
            self.reconnects += 1
            await asyncio.sleep(0.5)

    async def _read(self, response: httpx.Response) -> None:
        event_id = None
        async for line in response.aiter_lines():
            if line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("data:") and event_id is not None:
                n = orjson.loads(line[5:])
                if "alarm" in n:
                    self.shown.append(Shown(self.centre_id, int(event_id), n["notification_id"], n["event_type"],
                                            n["alarm"]["alarm_id"], n["alarm"]["version"],
                                            n["alarm"]["description"], time.monotonic()))
                self.last_id, event_id = event_id, None


async def post_until_answered(http: httpx.AsyncClient, call: Call, body: dict, token: str, city: Directory,
                              give_up_at: float) -> None:
    """POST with one Idempotency-Key until a 2xx (or a 4xx other than 429), as a 119 client would."""
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"fault-{body['description']}"}
    while time.monotonic() < give_up_at:
        call.attempts += 1
        try:
            r = await http.post("/v1/alarms", json=body, headers=headers)
        except httpx.HTTPError as exc:
            call.answers[type(exc).__name__] += 1
            await asyncio.sleep(0.5)
            continue
        call.answers[r.status_code] += 1
        if r.status_code in (200, 201):
            a = r.json()
            call.accepted_at, call.alarm_id, call.version = time.monotonic(), a["alarm_id"], a["version"]
            call.centres = tuple(city.centre_of(a["jurisdiction"][level]).id for level in CHAIN_LEVELS)
            return
        if 400 <= r.status_code < 500 and "retry-after" not in r.headers:  # 429 and 409 in progress say when
            return
        await asyncio.sleep(float(r.headers.get("retry-after", 0.5)))


async def inject(part_name: str, how: str, down_s: float, times: int = 1, between_s: float = 5.0) -> tuple[float, float]:
    """Kill, freeze or restart the part `times` times (`between_s` after each return), each time
    bringing it back after `down_s` (a restart: as soon as it stopped). Returns when it was last
    started again and when its start script said it was back (monotonic). Which process the part
    is, is asked anew each time (a leader moves when it is killed)."""
    restarted_at = time.monotonic()
    for n in range(times):
        if n:
            await asyncio.sleep(between_s)
        if how == "restart":  # graceful, one service after the other: a rolling restart ("services": all)
            names = SERVICES if part_name == "services" else (part_name,)
            restarted_at = time.monotonic()
            await asyncio.to_thread(_run, str(ROOT / "deploy/local/services.sh"), "restart", *names)
            continue
        part = PARTS[part_name]
        pid = await asyncio.to_thread(part.pid)
        if how == "kill":
            os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(down_s)
            restarted_at = time.monotonic()
            await asyncio.to_thread(part.start)
        else:
            pids = await asyncio.to_thread(part.frozen) if part.frozen else [pid]
            for frozen in pids:
                os.kill(frozen, signal.SIGSTOP)
            await asyncio.sleep(down_s)
            for frozen in reversed(pids):
                os.kill(frozen, signal.SIGCONT)
            restarted_at = time.monotonic()
    return restarted_at, time.monotonic()


async def run_fault(part: str | None, how: str = "kill", *, rate: float = 10, seconds: float = 90,
                    fault_at: float = 30, down_s: float = 8, quiet_s: float = 15, grace_s: float = 120,
                    times: int = 1, between_s: float = 5.0) -> dict:
    """One run: the load, the fault (none if `part` is None), the verdict."""
    beside = PARTS[part].beside if part in PARTS else None
    if beside:
        await asyncio.to_thread(beside[0])
    try:
        return await _run_fault(part, how, rate=rate, seconds=seconds, fault_at=fault_at, down_s=down_s,
                                quiet_s=quiet_s, grace_s=grace_s, times=times, between_s=between_s)
    finally:
        if beside:
            beside[1]()


async def _run_fault(part: str | None, how: str, *, rate: float, seconds: float, fault_at: float, down_s: float,
                     quiet_s: float, grace_s: float, times: int, between_s: float) -> dict:
    city = load_demo_city()
    issuer = LocalIssuer()
    intake = issuer.issue("fault-intake", ["alarms:report"], jurisdiction=[city.city.code], ttl_s=3600)
    communities, centres, siblings = watched(city)
    run_id = uuid.uuid4().hex[:8]
    shown: list[Shown] = []
    calls: list[Call] = []
    back_at = restarted_at = None
    timeout = httpx.Timeout(10, read=None)
    async with httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=100)) as streams, \
            httpx.AsyncClient(base_url=ALARMS_URL, timeout=10, limits=httpx.Limits(max_connections=200)) as http:
        # each console its own token, as each operations centre's (a client holds a few streams)
        consoles = [Console(streams, c, issuer.issue(f"fault-console-{c}", ["stream:read"], centre=c, ttl_s=3600), shown)
                    for c in centres + siblings]
        following = [asyncio.create_task(c.follow()) for c in consoles]
        await asyncio.sleep(2)  # the streams are open: live from now
        posts, fault = [], None
        start = time.monotonic()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            if part is not None and fault is None and time.monotonic() - start >= fault_at:
                fault = asyncio.create_task(inject(part, how, down_s, times, between_s))
            community = communities[i % len(communities)]
            body = {"source": "119", "kind": "fire", "severity": "moderate", "description": f"{run_id} #{i}",
                    "location": {"lat": community.lat, "lon": community.lon}}
            call = Call(i, time.monotonic())
            calls.append(call)
            posts.append(asyncio.create_task(post_until_answered(http, call, body, intake, city,
                                                                 give_up_at=start + seconds + grace_s)))
        await asyncio.gather(*posts)
        if fault is not None:
            restarted_at, back_at = await fault
        await asyncio.sleep(quiet_s)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and _missing(calls, shown):
            await asyncio.sleep(1)
        for task in following:
            task.cancel()
        await asyncio.gather(*following, return_exceptions=True)
    verdict = judge(calls, shown, set(siblings), run_id, back_at, restarted_at)
    verdict |= {"part": part or "none", "how": how if part else "-", "times": times, "rate": rate, "seconds": seconds,
                "reconnects": sum(c.reconnects for c in consoles), "consoles": len(consoles)}
    return verdict


def _missing(calls: list[Call], shown: list[Shown]) -> bool:
    seen = {(s.alarm_id, s.version, s.centre_id) for s in shown if s.event_type in CALL_EVENTS}
    return any((c.alarm_id, c.version, centre) not in seen for c in calls if c.accepted_at for centre in c.centres)


def judge(calls: list[Call], shown: list[Shown], siblings: set[str], run_id: str, back_at: float | None,
          restarted_at: float | None = None) -> dict:
    accepted = [c for c in calls if c.accepted_at is not None]
    first_shown: dict[tuple[str, int, str], float] = {}
    for s in shown:
        if s.event_type in CALL_EVENTS:
            first_shown.setdefault((s.alarm_id, s.version, s.centre_id), s.at)
    lost = [c for c in accepted if any((c.alarm_id, c.version, x) not in first_shown for x in c.centres)]
    per_console = collections.Counter((s.centre_id, s.notification_id) for s in shown)
    run_alarms = {c.alarm_id for c in accepted}
    chain = {c.alarm_id: set(c.centres) for c in accepted}
    misrouted = {s.alarm_id for s in shown if s.alarm_id in run_alarms
                 and (s.centre_id in siblings or s.centre_id not in chain[s.alarm_id])}
    reordered, last_version = set(), {}
    for s in sorted(shown, key=lambda s: (s.centre_id, s.seq)):
        key = (s.centre_id, s.alarm_id)
        if s.version < last_version.get(key, 0):
            reordered.add(s.alarm_id)
        last_version[key] = max(last_version.get(key, 0), s.version)
    answered = {f"{run_id} #{c.i}" for c in accepted}
    unacknowledged = {s.description for s in shown if s.description.startswith(run_id) and s.description not in answered}
    waits = [(c.sent_at, max(first_shown[(c.alarm_id, c.version, x)] for x in c.centres) - c.sent_at)
             for c in accepted if c not in lost]
    late = [sent for sent, wait in waits if back_at is not None and sent >= back_at and wait > 1.0]
    # From the restart: the start-up counts too (a script that returns early must not hide it).
    late_after_restart = [sent for sent, wait in waits if restarted_at is not None and sent >= restarted_at and wait > 1.0]
    answers = sum((c.answers for c in calls), collections.Counter())
    return {
        "calls": len(calls), "accepted": len(accepted), "answers": {str(k): v for k, v in answers.items()},
        "lost": len(lost), "duplicated": sum(n - 1 for n in per_console.values() if n > 1),
        "misrouted": len(misrouted), "reordered": len(reordered), "unacknowledged": len(unacknowledged),
        "worst_wait_s": round(max((w for _, w in waits), default=0.0), 2),
        "recovery_s": None if back_at is None else round(max(late, default=back_at) - back_at, 1),
        "recovery_from_restart_s": None if restarted_at is None
        else round(max(late_after_restart, default=restarted_at) - restarted_at, 1),
    }


def report(v: dict) -> None:
    refused = {k: n for k, n in v["answers"].items() if k not in ("200", "201")}
    times = f" x{v['times']}" if v.get("times", 1) > 1 else ""
    print(f"  {v['part']:8s} {v['how']:4s}{times} accepted {v['accepted']}/{v['calls']}"
          f" (refused and retried: {refused or 0}); lost {v['lost']}, duplicated {v['duplicated']},"
          f" misrouted {v['misrouted']}, reordered {v['reordered']}, unacknowledged {v['unacknowledged']};"
          f" worst wait {v['worst_wait_s']} s; back to < 1 s latency {v['recovery_s']} s after it returned"
          f" ({v['recovery_from_restart_s']} s after it was started again)"
          f" ({v['reconnects']} console reconnects)", flush=True)


async def main(args) -> list[dict]:
    results = []
    parts = [None] + args.parts.split(",") if args.baseline else args.parts.split(",")
    for part in parts:
        for how in (["kill"] if part is None else ["restart"] if part == "services" else args.signals.split(",")):
            with contextlib.suppress(KeyboardInterrupt):
                v = await run_fault(part, how, rate=args.rate, seconds=args.seconds, fault_at=args.fault_at,
                                    down_s=args.down, times=args.times, between_s=args.between)
                report(v)
                results.append(v)
    print(f"  results written to {save('faults', {'runs': results})}")
    return results


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default=",".join(p for p in PARTS if p != "kafka-leader"),
                        help="of " + ",".join(PARTS) + ", and services (a rolling restart of them all);"
                             " kafka-leader needs a cluster (LINKDUTY_KAFKA_BROKERS=3 ./linkduty up)")
    parser.add_argument("--signals", default="kill,stop", help="kill, stop (SIGSTOP) or restart (SIGTERM, start)")
    parser.add_argument("--rate", type=float, default=10)
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--fault-at", type=float, default=30)
    parser.add_argument("--down", type=float, default=8)
    parser.add_argument("--times", type=int, default=1, help="faults in a row (e.g. 5 leader kills)")
    parser.add_argument("--between", type=float, default=5, help="seconds from a part's return to the next fault")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false", help="skip the run without a fault")
    asyncio.run(main(parser.parse_args(argv)))


if __name__ == "__main__":
    cli()
