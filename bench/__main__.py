"""`python -m bench [eventstore] [--quick]`: run the named benchmark (default: all)."""

import sys

from bench import eventstore, jurisdictions

BENCHMARKS = {"eventstore": eventstore.cli, "jurisdictions": jurisdictions.cli}

if __name__ == "__main__":
    args = sys.argv[1:]
    names = [a for a in args if a in BENCHMARKS] or list(BENCHMARKS)
    rest = [a for a in args if a not in BENCHMARKS]
    for name in names:
        BENCHMARKS[name](rest)
