import datetime as dt
import time
import uuid

from linkduty_shared.ids import time_ordered_uuid


def test_time_ordered_ids_are_version_7_carry_the_time_and_sort_by_it():
    before = time.time_ns() // 1_000_000
    first = time_ordered_uuid()
    time.sleep(0.002)
    second = time_ordered_uuid()
    assert first.version == 7 and first.variant == uuid.RFC_4122
    assert before <= first.int >> 80 <= time.time_ns() // 1_000_000
    assert first < second and str(first) < str(second)  # as uuid and as text (PostgreSQL's uuid order is bytewise)
    assert len({time_ordered_uuid() for _ in range(10_000)}) == 10_000
    assert dt.datetime.fromtimestamp((second.int >> 80) / 1000, dt.UTC).year >= 2025
