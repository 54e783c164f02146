"""LinkDuty benchmarks: run with `./linkduty bench` (all) or `./linkduty bench eventstore`."""
