"""The linkage worker killed (-9) or frozen (SIGSTOP) under a steady load of 119 alarms: every
alarm reaches every centre that must see it, none other, and no centre under two ids."""

import asyncio
import signal
import time
import uuid

from tests.conftest import eventually
from tests.e2e.conftest import create_topics, start_linkage, stop
from tests.e2e.test_critical_path import NotificationReader
from tests.faults.load import check, run_load
from tests.support.kafka import group_lag

RATE = 20  # alarms a second


async def test_a_worker_killed_under_load_loses_no_alarm_and_commits_past_everything(
        city, kafka_bootstrap, tmp_path):
    """The worker is killed 20 s into the load and restarted 6 s later, so that a backlog waits
    for it on every partition. (The Faust worker lost the head of that backlog: CRASH_SAFETY.md.)"""
    topics = await create_topics(kafka_bootstrap)
    app_id = f"linkage-kill-{uuid.uuid4().hex[:6]}"
    workers = [start_linkage(kafka_bootstrap, topics, tmp_path, app_id=app_id)]

    async def kill():
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)

    async def restart():
        workers.append(start_linkage(kafka_bootstrap, topics, tmp_path, app_id=app_id))

    try:
        async with NotificationReader(kafka_bootstrap, topics["notifications"]) as reader:
            await asyncio.sleep(6)  # the first worker has joined its group
            sent = await run_load(city, kafka_bootstrap, topics["alarms"], rate=RATE, seconds=40,
                                  faults=[(20, kill), (26, restart)])
            verdict = await check(reader, sent, grace_s=90)
            # and the commits kept up with what was routed, on every partition (the group's 1 s interval)
            await eventually(lambda: _no_lag(kafka_bootstrap, app_id, topics["alarms"]), timeout=10,
                             what="the committed offsets to reach the end of every partition")
    finally:
        for worker in workers:
            stop(worker)
    assert not verdict.lost and not verdict.misrouted and not verdict.duplicated, verdict


async def _no_lag(bootstrap: str, group: str, topic: str) -> bool:
    return not any((await group_lag(bootstrap, group, topic)).values())


async def test_a_frozen_worker_is_replaced_and_loses_nothing_when_it_wakes(city, kafka_bootstrap, tmp_path):
    """Two workers share the partitions; one is frozen for 20 s (its group session is 10 s): the
    other takes its partitions and routes what arrives meanwhile; the frozen one wakes, finds its
    partitions gone, and nothing is lost or told twice."""
    topics = await create_topics(kafka_bootstrap)
    app_id = f"linkage-freeze-{uuid.uuid4().hex[:6]}"
    workdirs = [tmp_path / "frozen", tmp_path / "other"]
    for workdir in workdirs:
        workdir.mkdir()
    frozen, other = (start_linkage(kafka_bootstrap, topics, workdir, app_id=app_id) for workdir in workdirs)
    woke_at = 0.0

    async def freeze():
        frozen.send_signal(signal.SIGSTOP)

    async def wake():
        nonlocal woke_at
        frozen.send_signal(signal.SIGCONT)
        woke_at = time.monotonic()

    try:
        async with NotificationReader(kafka_bootstrap, topics["notifications"]) as reader:
            await asyncio.sleep(10)  # both workers have joined and share the partitions
            start = time.monotonic()
            sent = await run_load(city, kafka_bootstrap, topics["alarms"], rate=RATE, seconds=45,
                                  faults=[(10, freeze), (30, wake)])
            verdict = await check(reader, sent, grace_s=90)
    finally:
        frozen.send_signal(signal.SIGCONT)
        stop(frozen)
        stop(other)
    assert not verdict.lost and not verdict.misrouted and not verdict.duplicated, verdict
    # replaced: what arrived once the session had expired (and the group rebalanced) was routed
    # by the other worker, within a second, while the frozen one still slept
    replaced_by = start + 10 + 10 + 5
    assert all(wait <= 1.0 for at, wait in verdict.waits if replaced_by <= at < woke_at - 1), verdict.waits

