"""Drive one CentreStream to one client, over SSE or WebSocket alike.

The stream is cut as soon as the hub marks it overflowed, even while a send is stuck on a client
that stopped reading: that is what keeps a dead console from holding memory and a connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

from gateway.fanout import TooFarBehind
from gateway.streams import CentreStream, StreamItem


class ClientGone(Exception):
    """Raised by a `send_item` that found the client disconnected."""


async def pump(stream: CentreStream, send_item: Callable[[StreamItem], Awaitable[None]],
               client_gone: Callable[[], Awaitable[None]]) -> bool:
    """Send the stream's items until the client leaves (False) or falls too far behind (True)."""
    overflowed = False

    async with anyio.create_task_group() as tasks:
        async def on_overflow() -> None:
            nonlocal overflowed
            await stream.overflowed.wait()
            overflowed = True
            tasks.cancel_scope.cancel()

        async def on_client_gone() -> None:
            await client_gone()
            tasks.cancel_scope.cancel()

        tasks.start_soon(on_overflow)
        tasks.start_soon(on_client_gone)
        try:
            async for item in stream.items():
                await send_item(item)
        except TooFarBehind:
            overflowed = True
        except ClientGone:
            pass
        tasks.cancel_scope.cancel()
    return overflowed
