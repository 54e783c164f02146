"""`python -m bench [eventstore|jurisdictions|critical_path|dispatch|faults] [options]`: run the named
benchmark (default: all but faults, with their default options)."""

import sys

from bench import critical_path, dispatch, eventstore, faults, jurisdictions

BENCHMARKS = {
    "eventstore": eventstore.cli,
    "jurisdictions": jurisdictions.cli,
    "critical_path": critical_path.cli,
    "dispatch": dispatch.cli,
    "faults": faults.cli,  # kills the running system's parts: only when named
}

if __name__ == "__main__":
    args = sys.argv[1:]
    names = [a for a in args if a in BENCHMARKS] or [n for n in BENCHMARKS if n != "faults"]
    rest = [a for a in args if a not in BENCHMARKS]
    for name in names:
        BENCHMARKS[name](rest)
