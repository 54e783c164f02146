"""A bounded load of 119 alarms into an alarms topic and a checker of what linkage made of it.

The load produces AlarmReported records at a fixed rate (open model: a slow consumer does not
slow it), as the alarms relay publishes them, to communities spread over the city, one partition
after another; `faults` are (seconds into the run, coroutine) pairs that it runs on the way.
The checker reads `linkage.notifications` and counts, in the manner of Jepsen's Kafka checker,
what each alarm's centres were told: lost (a centre that must see the alarm was never told),
misrouted (a centre that must not see it was), duplicated (a centre told twice under two
notification ids: the gateway drops a repeated id, it cannot drop two ids) and how long each
alarm waited (recovery times are figures of bench/faults.py, not assertions)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaProducer

from linkduty_shared.events.envelope import envelope_to_kafka
from linkduty_shared.jurisdictions import Level
from tests.e2e.test_critical_path import NotificationReader
from tests.e2e.test_dispatch_routing import alarm_reported

Fault = tuple[float, Callable[[], Awaitable[None]]]


@dataclasses.dataclass
class Sent:
    alarm_id: str
    centres: tuple[str, ...]
    at: float  # monotonic, when the broker acknowledged it


@dataclasses.dataclass
class Verdict:
    sent: int
    lost: list[str]  # alarms some centre of which was never told
    misrouted: list[str]
    duplicated: list[str]  # alarms some centre of which got two notification ids for one event
    worst_wait_s: float  # the longest accepted → last centre told
    waits: list[tuple[float, float]]  # (accepted at, accepted → last centre told), of the alarms told everywhere

    def __str__(self) -> str:
        return (f"{self.sent} alarms: {len(self.lost)} lost, {len(self.misrouted)} misrouted, "
                f"{len(self.duplicated)} duplicated; worst wait {self.worst_wait_s:.1f} s")


async def run_load(city, bootstrap: str, topic: str, *, rate: float, seconds: float,
                   faults: list[Fault] = ()) -> list[Sent]:
    """Produce `rate` AlarmReported a second for `seconds`, running each fault at its time."""
    communities = len(city.divisions(level=Level.COMMUNITY))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=0)
    await producer.start()
    sent: list[Sent] = []
    pending = sorted(faults, key=lambda f: f[0])
    start = time.monotonic()
    try:
        for i in range(int(rate * seconds)):
            due = start + i / rate
            while pending and time.monotonic() - start >= pending[0][0]:
                await pending.pop(0)[1]()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            reported, centres = alarm_reported(city, (i * 7) % communities)
            message = envelope_to_kafka(reported)
            await producer.send_and_wait(topic, message.value, key=reported.subject.encode(),
                                         headers=list(message.headers.items()))
            sent.append(Sent(reported.subject, centres, time.monotonic()))
        for _, fault in pending:
            await fault()
    finally:
        await producer.stop()
    return sent


async def check(reader: NotificationReader, sent: list[Sent], *, grace_s: float) -> Verdict:
    """Wait up to `grace_s` for every alarm to reach its centres (then 2 s for strays), and judge."""
    deadline = time.monotonic() + grace_s

    def told(s: Sent) -> set[str]:
        return {n.centre_id for n in reader.about(s.alarm_id, "AlarmReported")}

    while time.monotonic() < deadline and any(not set(s.centres) <= told(s) for s in sent):
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)
    first_told: dict[tuple[str, str], float] = {}
    ids: dict[tuple[str, str], set[str]] = {}
    for n, seen_at in zip(reader.seen, reader.seen_at):
        if n.event_type == "AlarmReported":
            first_told.setdefault((n.alarm.alarm_id, n.centre_id), seen_at)
            ids.setdefault((n.alarm.alarm_id, n.centre_id), set()).add(n.notification_id)
    waits = [(s.at, max(first_told[(s.alarm_id, c)] for c in s.centres) - s.at) for s in sent
             if all((s.alarm_id, c) in first_told for c in s.centres)]
    return Verdict(
        sent=len(sent),
        lost=[s.alarm_id for s in sent if not set(s.centres) <= told(s)],
        misrouted=[s.alarm_id for s in sent if told(s) - set(s.centres)],
        duplicated=[s.alarm_id for s in sent if any(len(ids.get((s.alarm_id, c), ())) > 1 for c in s.centres)],
        worst_wait_s=max((wait for _, wait in waits), default=0.0),
        waits=waits,
    )
