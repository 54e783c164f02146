"""Event-store append throughput and outbox-relay latency, beside two baselines in the same run.

    ./linkduty bench eventstore [--quick]

Append throughput (events/s), three shapes: single-event appends from one writer; 10 events per
append from one writer; single-event appends from 16 concurrent writers on distinct streams.
Each shape runs against
  - LinkDuty's EventStore.append (event rows + outbox rows, version guard, one statement);
  - raw asyncpg writing the same rows to the same tables: BEGIN; INSERT event(s); INSERT
    outbox row(s); COMMIT (the issue's baseline);
  - the `eventsourcing` library's PostgresApplicationRecorder, fastest configuration (binary
    psycopg, its database functions), which serialises writers with a table lock.
Then the cost of NOTIFY at commit for the 16 writers (outbox trigger on/off), and the relay's
latency from commit to the event being read from Kafka at a fixed arrival rate (open model).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
import uuid

import orjson

from bench.common import bench_dsn, fresh_schema, save, stack_env, summarize_ms
from linkduty_shared.eventstore import EventStore, NewEvent

PAYLOAD = {"kind": "fire", "severity": "major", "division": "330106001001", "calls": 1, "note": "x" * 120}


def new_events(n: int) -> list[NewEvent]:
    return [NewEvent("AlarmReported", PAYLOAD, metadata={"source": "/linkduty/bench", "actor": "bench"}) for _ in range(n)]


# ---- LinkDuty's store -----------------------------------------------------------------------

async def linkduty_appends(pool, *, writers: int, appends: int, per_append: int) -> float:
    store = EventStore(pool)

    async def writer(w: int) -> None:
        stream = f"s-{w}-{uuid.uuid4().hex[:6]}"
        for v in range(appends):
            await store.append(stream, "alarm", v * per_append, new_events(per_append), topic="alarms.events")

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    return writers * appends * per_append / (time.perf_counter() - start)


# ---- raw asyncpg, same rows, one transaction per append --------------------------------------

_RAW_EVENT = """INSERT INTO events (stream_id, stream_type, version, event_id, event_type, schema_version, data,
                metadata, occurred_at) VALUES ($1, 'alarm', $2, $3, 'AlarmReported', 1, $4::text::jsonb, $5::text::jsonb, now())"""
_RAW_OUTBOX = "INSERT INTO outbox (event_id, topic, partition_key) VALUES ($1, 'alarms.events', $2)"


async def raw_appends(pool, *, writers: int, appends: int, per_append: int) -> float:
    data = orjson.dumps(PAYLOAD).decode()
    meta = orjson.dumps({"source": "/linkduty/bench", "actor": "bench"}).decode()

    async def writer(w: int) -> None:
        stream = f"r-{w}-{uuid.uuid4().hex[:6]}"
        async with pool.acquire() as conn:
            for a in range(appends):
                ids = [uuid.uuid4() for _ in range(per_append)]
                async with conn.transaction():
                    if per_append == 1:
                        await conn.execute(_RAW_EVENT, stream, a + 1, ids[0], data, meta)
                        await conn.execute(_RAW_OUTBOX, ids[0], stream)
                    else:
                        await conn.executemany(_RAW_EVENT, [(stream, a * per_append + i + 1, ids[i], data, meta)
                                                            for i in range(per_append)])
                        await conn.executemany(_RAW_OUTBOX, [(i, stream) for i in ids])

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    return writers * appends * per_append / (time.perf_counter() - start)


# ---- the eventsourcing library ---------------------------------------------------------------

def library_appends(schema: str, *, writers: int, appends: int, per_append: int) -> float:
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    env = stack_env()["LINKDUTY_PG_DSN"]  # postgresql://user:pw@host:port
    creds, _, hostport = env.removeprefix("postgresql://").partition("@")
    user, _, password = creds.partition(":")
    host, _, port = hostport.rstrip("/").partition(":")
    datastore = PostgresDatastore("linkduty_bench", host, port, user, password, schema=schema,
                                  pool_size=writers, enable_db_functions=True)
    recorder = PostgresApplicationRecorder(datastore)
    recorder.create_table()
    state = orjson.dumps(PAYLOAD)

    def writer() -> None:
        originator = uuid.uuid4()
        for a in range(appends):
            recorder.insert_events([
                StoredEvent(originator, a * per_append + i + 1, "bench:AlarmReported", state) for i in range(per_append)
            ])

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rate = writers * appends * per_append / (time.perf_counter() - start)
    datastore.close()
    return rate


# ---- the shapes ------------------------------------------------------------------------------

async def measure_once(name: str, params: dict) -> float:
    async with fresh_schema(pool_size=params["writers"] + 2) as (schema, pool):
        warm = {**params, "appends": max(10, params["appends"] // 10)}
        if name == "linkduty":
            await linkduty_appends(pool, **warm)
            return await linkduty_appends(pool, **params)
        if name == "raw_asyncpg":
            await raw_appends(pool, **warm)
            return await raw_appends(pool, **params)
        return await asyncio.to_thread(library_appends, schema, **params)


async def append_throughput(quick: bool, rounds: int) -> dict:
    """Each shape: the three writers interleaved, `rounds` times; the median of each is reported."""
    scale = 0.25 if quick else 1.0
    shapes = {
        "single": dict(writers=1, appends=int(3000 * scale), per_append=1),
        "batch10": dict(writers=1, appends=int(500 * scale), per_append=10),
        "concurrent16": dict(writers=16, appends=int(400 * scale), per_append=1),
    }
    results = {}
    for shape, params in shapes.items():
        samples: dict[str, list[float]] = {"raw_asyncpg": [], "linkduty": [], "eventsourcing_lib": []}
        for _ in range(rounds):
            for name in samples:
                samples[name].append(await measure_once(name, params))
        row = {k: round(statistics.median(v)) for k, v in samples.items()}
        row["samples"] = {k: [round(x) for x in v] for k, v in samples.items()}
        row["linkduty_vs_raw"] = round(row["linkduty"] / row["raw_asyncpg"], 2)
        row["linkduty_vs_lib"] = round(row["linkduty"] / row["eventsourcing_lib"], 2)
        results[shape] = row
        print(f"  {shape:13s} events/s (median of {rounds})  linkduty {row['linkduty']:>6}  raw asyncpg"
              f" {row['raw_asyncpg']:>6}  eventsourcing {row['eventsourcing_lib']:>6}"
              f"  → ratio vs raw {row['linkduty_vs_raw']:.2f}, vs library {row['linkduty_vs_lib']:.2f}", flush=True)
    return results


async def enable_outbox_notify(pool) -> None:
    """Switch on the NOTIFY-at-commit wake-up (the function ships in outbox/schema.sql, unused)."""
    await pool.execute("CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()")


async def notify_cost(quick: bool) -> dict:
    """16 concurrent writers with and without the NOTIFY trigger on the outbox."""
    params = dict(writers=16, appends=int(400 * (0.25 if quick else 1.0)), per_append=1)
    rates = {}
    for mode in ("without_notify", "with_notify"):
        async with fresh_schema(pool_size=18) as (_, pool):
            if mode == "with_notify":
                await enable_outbox_notify(pool)
            await linkduty_appends(pool, **{**params, "appends": 20})
            rates[mode] = round(await linkduty_appends(pool, **params))
    rates["notify_cost_pct"] = round(100 * (1 - rates["with_notify"] / rates["without_notify"]), 1)
    print(f"  NOTIFY at commit, 16 writers: {rates['without_notify']} → {rates['with_notify']} events/s"
          f" ({rates['notify_cost_pct']}% slower)", flush=True)
    return rates


async def relay_latency(rate: int, seconds: float, wake: str) -> dict:
    """Commit → readable from Kafka, at a fixed arrival rate (appends fired on schedule, not
    after the previous one returned). Beside it, in the same run and under the same load, a raw
    aiokafka produce→consume probe on the same broker: the baseline the ratio is taken against."""
    from aiokafka import AIOKafkaConsumer

    from linkduty_shared.messaging.kafka import reliable_producer
    from linkduty_shared.messaging.topics import TopicSpec, ensure_topics
    from linkduty_shared.outbox import OutboxRelay

    bootstrap = stack_env()["LINKDUTY_KAFKA_BOOTSTRAP"]
    topic, probe_topic = f"bench.{uuid.uuid4().hex[:8]}.events", f"bench.{uuid.uuid4().hex[:8]}.probe"
    await ensure_topics(bootstrap, [TopicSpec(topic, 6, 1, 3_600_000), TopicSpec(probe_topic, 6, 1, 3_600_000)])
    total = int(rate * seconds)
    committed: dict[str, float] = {}
    received: dict[str, float] = {}
    probe_sent: dict[bytes, float] = {}
    probe_latencies: list[float] = []

    async with fresh_schema(pool_size=24) as (_, pool):
        store = EventStore(pool)
        relay = OutboxRelay(pool, lambda: reliable_producer(bootstrap), poll_interval_s=0.5)
        if wake == "in-process":
            store.on_append(relay.wake)
        else:
            await enable_outbox_notify(pool)
        consumer = AIOKafkaConsumer(topic, probe_topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                    fetch_max_wait_ms=5)
        probe_producer = reliable_producer(bootstrap)
        await consumer.start()
        await probe_producer.start()
        relay_task = asyncio.create_task(relay.run())

        async def consume() -> None:
            while len(received) < total:
                for tp, records in (await consumer.getmany(timeout_ms=100)).items():
                    now = time.perf_counter()
                    for r in records:
                        if tp.topic == probe_topic:
                            probe_latencies.append(now - probe_sent[r.key])
                        else:
                            received[dict(r.headers)["ce_id"].decode()] = now

        async def append_one(i: int) -> None:
            stored = await store.append(f"lat-{i}", "alarm", 0, new_events(1), topic=topic)
            committed[str(stored[0].event_id)] = time.perf_counter()

        async def probe(i: int) -> None:
            key = str(i).encode()
            probe_sent[key] = time.perf_counter()
            await probe_producer.send(probe_topic, orjson.dumps(PAYLOAD), key=key)

        consumer_task = asyncio.create_task(consume())
        await asyncio.sleep(1.0)  # let the consumer join before the clock starts
        start = time.perf_counter()
        pending = set()
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.add(asyncio.create_task(append_one(i)))
            if i % 5 == 0:  # the raw probe at a fifth of the rate
                pending.add(asyncio.create_task(probe(i)))
        await asyncio.gather(*pending)
        offered = total / (time.perf_counter() - start)
        await asyncio.wait_for(consumer_task, 60)
        relay_task.cancel()
        await consumer.stop()
        await probe_producer.stop()
    # an event can be read before its append() returned to the writer: that counts as zero
    latencies = [max(0.0, received[k] - committed[k]) for k in committed]
    result = {"wake": wake, "target_rate": rate, "offered_rate": round(offered), **summarize_ms(latencies),
              "raw_kafka_round_trip": summarize_ms(probe_latencies)}
    raw = result["raw_kafka_round_trip"]
    print(f"  relay commit→Kafka at {rate}/s ({wake} wake-up): p50 {result['p50_ms']} ms  p99 {result['p99_ms']} ms"
          f"  max {result['max_ms']} ms  (n={result['count']});  raw Kafka round trip in the same run:"
          f" p50 {raw['p50_ms']} ms  p99 {raw['p99_ms']} ms", flush=True)
    return result


async def main(quick: bool) -> dict:
    print(f"event store benchmark on {bench_dsn().rsplit('@', 1)[-1]}", flush=True)
    results = {"append_throughput": await append_throughput(quick, rounds=1 if quick else 3),
               "notify": await notify_cost(quick)}
    seconds = 5 if quick else 20
    results["relay_latency"] = [await relay_latency(500, seconds, wake) for wake in ("in-process", "notify")]
    t = results["append_throughput"]
    lat = results["relay_latency"][0]
    checks = {
        "single ≥ 0.8× raw": t["single"]["linkduty_vs_raw"] >= 0.8,
        "16 writers ≥ 0.5× raw": t["concurrent16"]["linkduty_vs_raw"] >= 0.5,
        "16 writers ≥ 2× library": t["concurrent16"]["linkduty_vs_lib"] >= 2.0,
        "relay p99 ≤ 20 ms at 500/s": lat["p99_ms"] <= 20,
    }
    results["targets"] = checks
    for name, ok in checks.items():
        print(f"  target {name}: {'met' if ok else 'MISSED'}")
    print(f"  results written to {save('eventstore', results)}")
    return results


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the load, for a smoke run")
    args = parser.parse_args(argv)
    asyncio.run(main(args.quick))


if __name__ == "__main__":
    cli()
