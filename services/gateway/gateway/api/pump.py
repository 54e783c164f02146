"""Drive one CentreStream to one client, over SSE or WebSocket alike.

The stream is cut as soon as the hub marks it overflowed, even while a send is stuck on a client
that stopped reading: that is what keeps a dead console from holding memory and a connection.
It is cut likewise when the token it was opened with expires: access ends with the token.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Awaitable, Callable

import anyio

from gateway.fanout import TooFarBehind
from gateway.streams import CentreStream, StreamItem


class ClientGone(Exception):
    """Raised by a `send_item` that found the client disconnected."""


class Ended(enum.Enum):
    CLIENT_LEFT = "client left"
    OVERFLOWED = "too far behind"
    TOKEN_EXPIRED = "token expired"


async def pump(stream: CentreStream, send_item: Callable[[StreamItem], Awaitable[None]],
               client_gone: Callable[[], Awaitable[None]]) -> Ended:
    """Send the stream's items until the client leaves, falls too far behind, or its token expires."""
    ended = Ended.CLIENT_LEFT

    async with anyio.create_task_group() as tasks:
        async def on_overflow() -> None:
            nonlocal ended
            await stream.overflowed.wait()
            ended = Ended.OVERFLOWED
            tasks.cancel_scope.cancel()

        async def on_expiry() -> None:
            nonlocal ended
            await anyio.sleep(max(0.0, stream.expires_at - time.time()))
            ended = Ended.TOKEN_EXPIRED
            tasks.cancel_scope.cancel()

        async def on_client_gone() -> None:
            await client_gone()
            tasks.cancel_scope.cancel()

        tasks.start_soon(on_overflow)
        tasks.start_soon(on_client_gone)
        if stream.expires_at is not None:
            tasks.start_soon(on_expiry)
        try:
            async for item in stream.items():
                await send_item(item)
        except TooFarBehind:
            ended = Ended.OVERFLOWED
        except ClientGone:
            pass
        tasks.cancel_scope.cancel()
    return ended
