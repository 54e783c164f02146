"""`python -m bench [eventstore|jurisdictions|critical_path|dispatch] [options]`: run the named benchmark
(default: all, with their default options)."""

import sys

from bench import critical_path, dispatch, eventstore, jurisdictions

BENCHMARKS = {
    "eventstore": eventstore.cli,
    "jurisdictions": jurisdictions.cli,
    "critical_path": critical_path.cli,
    "dispatch": dispatch.cli,
}

if __name__ == "__main__":
    args = sys.argv[1:]
    names = [a for a in args if a in BENCHMARKS] or list(BENCHMARKS)
    rest = [a for a in args if a not in BENCHMARKS]
    for name in names:
        BENCHMARKS[name](rest)
