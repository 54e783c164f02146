"""Identifiers whose order follows time (UUID version 7, RFC 9562: 48 bits of Unix milliseconds,
then random bits), for rows keyed by them in a B-tree that grows with history.

A random UUID (version 4) sends every insert to a random leaf of its index, so the part of the
index a steady stream of inserts keeps hot is all of it: a year of events' ids was 301 MB that
had to stay in memory for appends not to wait on disk (bench/history.py). Time-ordered ids go to
the right edge, whose size does not grow with history.
"""

from __future__ import annotations

import uuid

import uuid6


def time_ordered_uuid() -> uuid.UUID:
    """A UUID version 7 (the `uuid6` package: monotonic within a millisecond), as a plain uuid.UUID."""
    return uuid.UUID(int=uuid6.uuid7().int)
