"""`python -m bench [eventstore|jurisdictions|critical_path|dispatch|hazards|volunteers|devices|history|notifications|faults]
[options]`: run the named benchmark (default: all but hazards, volunteers, devices, history, notifications and faults, with
their default options)."""

import sys

from bench import (critical_path, devices, dispatch, eventstore, faults, hazards, history, jurisdictions, notifications,
                   volunteers)

BENCHMARKS = {
    "eventstore": eventstore.cli,
    "jurisdictions": jurisdictions.cli,
    "critical_path": critical_path.cli,
    "dispatch": dispatch.cli,
    "hazards": hazards.cli,  # a 100,000-hazard load: several minutes, only when named
    "volunteers": volunteers.cli,  # seeds volunteers in the running system and runs the critical path: only when named
    "devices": devices.cli,  # registers 20,000 detectors in the running system, then two runs: only when named
    "history": history.cli,  # loads a year of history (about 15 minutes, 40 GB): only when named
    "notifications": notifications.cli,  # both shapes, 3 runs each: a quarter of an hour, only when named
    "faults": faults.cli,  # kills the running system's parts: only when named
}
ONLY_WHEN_NAMED = {"history", "notifications", "faults", "hazards", "volunteers", "devices"}

if __name__ == "__main__":
    args = sys.argv[1:]
    names = [a for a in args if a in BENCHMARKS] or [n for n in BENCHMARKS if n not in ONLY_WHEN_NAMED]
    rest = [a for a in args if a not in BENCHMARKS]
    for name in names:
        BENCHMARKS[name](rest)
