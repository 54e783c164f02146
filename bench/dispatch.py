"""Dispatch planner: time to compute one alarm's plan against the demo city, beside a naive scan.

    python -m bench.dispatch [--quick]

- points: 10,000 micro-grid representative points of the demo city (seeded sample), each an alarm
  whose community and street are resolved beforehand (the planner is given them, as in the
  service);
- plan: `plan_dispatch` with the shipped run cards and the `ForceIndex` (per-kind sorted scan with
  precomputed trigonometry), each call timed on its own: mean, p50, p99 in µs. Two scenarios: a
  quiet city (all forces available, fire.major: 2 stations + both auxiliaries) and a busy one
  (a seeded 20% of forces dispatched, out of service or off duty, fire.extreme: 3 stations, so
  skips and the micro-fire-station fallback are exercised);
- baseline: the same plans with a naive index that, for every question, scans ALL forces of the
  city (every kind), computing each one's ETA, sorting them and keeping the wanted kind. Its plans
  must equal the planner's to count. Ratio = baseline mean / plan mean.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

from bench.common import save, summarize_us
from linkduty_shared.jurisdictions import Directory, Force, Level, load_demo_city
from units.domain.availability import Availability, DutyRoster, DutyWindow, PlanningStatus
from units.domain.forces import ForceIndex
from units.domain.planner import AlarmFacts, plan_dispatch
from units.domain.run_cards import default_run_cards
from units.domain.travel import SpeedModel

SEED = 119
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


class NaiveForceIndex:
    """The baseline: no per-kind lists, no precomputation; every question scans every force."""

    def __init__(self, forces: list[Force]) -> None:
        self._forces = list(forces)

    def covering(self, kind: str, division_code: str) -> tuple[Force, ...]:
        return tuple(sorted((f for f in self._forces if f.kind == kind and f.division_code == division_code),
                            key=lambda f: f.id))

    def by_travel_time(self, kind: str, lat: float, lon: float, speed: SpeedModel):
        etas = sorted((speed.eta_s(kind, f.lat, f.lon, lat, lon), f.id, f) for f in self._forces)
        return ((eta, f) for eta, _, f in etas if f.kind == kind)


def alarms(directory: Directory, n: int, severity: str) -> list[AlarmFacts]:
    grids = random.Random(SEED).sample(directory.divisions(Level.GRID), n)
    facts = []
    for i, grid in enumerate(grids):
        chain = directory.resolve(grid.lat, grid.lon)
        facts.append(AlarmFacts(f"a{i}", "fire", severity, grid.lat, grid.lon, chain.community.code, chain.street.code))
    return facts


def busy_availability(directory: Directory, share: float) -> Availability:
    """A seeded `share` of forces unavailable, split evenly over the three reasons."""
    rng, statuses, roster = random.Random(SEED), {}, {}
    off_shift = (DutyWindow(NOW + timedelta(hours=4), NOW + timedelta(hours=16)),)
    for force in directory.forces():
        draw = rng.random()
        if draw < share / 3:
            statuses[force.id] = PlanningStatus.DISPATCHED
        elif draw < 2 * share / 3:
            statuses[force.id] = PlanningStatus.OUT_OF_SERVICE
        elif draw < share:
            roster[force.id] = off_shift
    return Availability(statuses, DutyRoster(roster))


def per_call_us(plan, facts) -> list[float]:
    clock, samples = time.perf_counter_ns, []
    for alarm in facts:
        start = clock()
        plan(alarm)
        samples.append((clock() - start) / 1e3)
    return samples



def scenario(index, naive, availability, facts, n_baseline: int) -> dict:
    cards = default_run_cards()

    def fast(alarm):
        return plan_dispatch(alarm, index, availability, cards, NOW)

    def slow(alarm):
        return plan_dispatch(alarm, naive, availability, cards, NOW)

    for alarm in facts[:200]:  # the baseline must make the same plans to count; also a warm-up
        assert fast(alarm) == slow(alarm), alarm
    plans = [fast(alarm) for alarm in facts]
    plan = summarize_us(per_call_us(fast, facts))
    baseline = summarize_us(per_call_us(slow, facts[:n_baseline]))
    return {"plan": plan, "baseline_naive_all_forces": baseline,
            "ratio_baseline_over_plan": round(baseline["mean_us"] / plan["mean_us"], 1),
            "plans_with_skips": sum(1 for p in plans if p.skipped),
            "plans_with_shortfall": sum(1 for p in plans if p.shortfall),
            "shortfall_by_role": dict(Counter(line.split(":")[0] for p in plans for line in p.shortfall)),
            "micro_fire_station_fallbacks": sum(1 for p in plans for a in p.assignments
                                                if a.force_kind == "micro_fire_station")}


def main(quick: bool) -> dict:
    n_points = 2_000 if quick else 10_000
    directory = load_demo_city()
    index, naive = ForceIndex.from_directory(directory), NaiveForceIndex(directory.forces())
    gc.disable()  # a collection inside a microsecond plan would be the figure
    try:
        quiet = scenario(index, naive, Availability(), alarms(directory, n_points, "major"), n_points)
        busy = scenario(index, naive, busy_availability(directory, 0.2), alarms(directory, n_points, "extreme"),
                        n_points)
    finally:
        gc.enable()
    kinds = {kind: len(directory.forces(kind)) for kind in sorted({f.kind for f in directory.forces()})}
    result = {"dataset": {"version": directory.version, "forces": kinds, "points": n_points},
              "quiet_fire_major": quiet, "busy_fire_extreme_20pct_unavailable": busy}
    report(result)
    print(f"saved {save('dispatch', result)}")
    return result


def report(r: dict) -> None:
    d = r["dataset"]
    print(f"dataset {d['version']}: " + ", ".join(f"{n} {k}" for k, n in d["forces"].items())
          + f"; {d['points']:,} alarms at micro-grid points")
    print(f"{'scenario / planner':<76}{'alarms':>8}{'mean µs':>10}{'p50 µs':>9}{'p99 µs':>9}")
    for name in ("quiet_fire_major", "busy_fire_extreme_20pct_unavailable"):
        s = r[name]
        rows = (("ForceIndex", s["plan"]), ("baseline: naive scan of all forces", s["baseline_naive_all_forces"]))
        for label, row in rows:
            print(f"{name + ' / ' + label:<76}{row['count']:>8}{row['mean_us']:>10.2f}{row['p50_us']:>9.2f}"
                  f"{row['p99_us']:>9.2f}")
        print(f"  ratio baseline/plan (mean) {s['ratio_baseline_over_plan']}x; plans with skips "
              f"{s['plans_with_skips']}, with shortfall {s['plans_with_shortfall']} {s['shortfall_by_role']}, "
              f"micro fire station fallbacks {s['micro_fire_station_fallbacks']}")


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 alarms instead of 10,000, for a smoke run")
    args = parser.parse_args(argv)
    main(args.quick)


if __name__ == "__main__":
    cli()
