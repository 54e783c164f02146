"""`linkduty-linkage` / `python -m linkage.main`: run the linkage worker until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

from linkage.bootstrap import run
from linkage.config import LinkageSettings


async def _serve(settings: LinkageSettings) -> None:
    work = asyncio.ensure_future(run(settings))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, work.cancel)  # stops the consumer cleanly: its last offsets are committed
    try:
        await work
    except asyncio.CancelledError:
        pass


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = LinkageSettings()
    # The city directory lives as long as the process: out of the collector's sight, a full
    # collection no longer walks it in the middle of routing (as in api.app.create_app).
    gc.collect()
    gc.freeze()
    asyncio.run(_serve(settings))


if __name__ == "__main__":
    main()
