"""The fault suite's short form (bench/faults.py is the long one): every part of the running
system killed (-9) once under a few seconds of 119 load, through the project's own scripts, and
every accepted alarm on every console that must show it, once, in order, and on no other.

It runs last (pyproject's testpaths): it kills the shared Kafka and PostgreSQL too, and brings
them back before it ends."""

import subprocess

import pytest

from bench.faults import PARTS, STATE, run_fault
from tests.conftest import ROOT, loud_lines

SERVICES = ROOT / "deploy/local/services.sh"
SINGLE_NODE_PARTS = [p for p in PARTS if p != "kafka-leader"]  # the suite's stack has one broker


@pytest.fixture(scope="module")
def running_system(stack):
    """The services of `./linkduty up`, started if they are not running (and then stopped after)."""
    before = subprocess.run([SERVICES, "status"], check=True, capture_output=True, text=True).stdout
    subprocess.run([ROOT / "linkduty", "up"], check=True, capture_output=True)
    yield
    subprocess.run([ROOT / "deploy/local/stack.sh", "up"], check=True, capture_output=True)  # whatever a test left down
    if "stopped" in before:
        subprocess.run([SERVICES, "down"], check=True, capture_output=True)
    else:
        subprocess.run([SERVICES, "up"], check=True, capture_output=True)


def log_sizes() -> dict:
    return {log: log.stat().st_size for log in (STATE / "services").glob("*.log")}


def service_logs(since: dict) -> str:
    """What a failed verdict needs to be understood, short enough to survive a CI excerpt: whether
    each service is running, then the last distinct warnings and errors each logged during the
    test (linkage's first)."""
    status = subprocess.run([SERVICES, "status"], capture_output=True, text=True).stdout.strip()
    logs = sorted((STATE / "services").glob("*.log"), key=lambda p: p.name != "linkage.log")
    return "\n".join([status, *(line for log in logs for line in loud_lines(log, since=since.get(log, 0)))])


@pytest.mark.timeout(600)
@pytest.mark.parametrize("part", SINGLE_NODE_PARTS)
async def test_a_part_killed_under_load_loses_no_alarm_on_any_console(running_system, part):
    logged_before = log_sizes()
    # A broker or database killed after the whole suite holds every test's topics and groups: its
    # restart recovers them all before the last partition is led again (a linkage commit waited
    # 96 s on it here). Nothing may be lost; it may take longer to arrive.
    grace_s = 300 if part in ("kafka", "postgres") else 120
    verdict = await run_fault(part, "kill", rate=10, seconds=20, fault_at=6, down_s=4, quiet_s=5, grace_s=grace_s)
    counts = (verdict["lost"], verdict["duplicated"], verdict["misrouted"], verdict["reordered"], verdict["unacknowledged"])
    assert verdict["accepted"] == verdict["calls"] and counts == (0, 0, 0, 0, 0), f"{verdict}\n{service_logs(logged_before)}"
