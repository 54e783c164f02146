"""Run the outbox relay as its own process: `python -m linkduty_shared.outbox --dsn … --bootstrap …`.

Services run the relay inside their own process (runtime.py); this entry point is for running it
apart (one relay for a database whose writers are elsewhere) and for the crash tests.
"""

import argparse
import asyncio
import logging
import signal

from linkduty_shared.db import create_pool
from linkduty_shared.messaging.kafka import reliable_producer
from linkduty_shared.outbox.relay import OutboxRelay


async def main() -> None:
    parser = argparse.ArgumentParser(description="LinkDuty outbox relay")
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--poll-interval", type=float, default=0.1)
    parser.add_argument("--stalled-after", type=float, default=15.0,
                        help="seconds a leader may run nothing while events wait before this relay takes over")
    args = parser.parse_args()
    pool = await create_pool(args.dsn, min_size=1, max_size=4)
    relay = OutboxRelay(pool, lambda: reliable_producer(args.bootstrap, client_id="outbox-relay"),
                        batch_size=args.batch_size, poll_interval_s=args.poll_interval,
                        stalled_after_s=args.stalled_after)
    task = asyncio.create_task(relay.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass
    finally:
        await pool.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(main())
