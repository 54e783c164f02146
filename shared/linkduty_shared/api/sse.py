"""Server-Sent Events, the wire format (pure): what the gateway's centre streams and the volunteers'
alert streams write."""

from __future__ import annotations


def _field(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")  # a line break would end the field


def sse_event(data: str, *, event: str | None = None, id: int | str | None = None) -> bytes:
    lines = []
    if id is not None:
        lines.append(f"id: {id}")
    if event:
        lines.append(f"event: {_field(event)}")
    lines.extend(f"data: {line}" for line in data.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


def sse_comment(text: str) -> bytes:
    return f": {_field(text)}\n\n".encode()


def sse_retry(ms: int) -> bytes:
    """How soon an EventSource reconnects after the stream ends (it then sends Last-Event-ID)."""
    return f"retry: {ms}\n\n".encode()
