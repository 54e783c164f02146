"""Jurisdiction directory: load time of the demo city and resolve() latency, beside a polygon scan.

    python -m bench.jurisdictions [--quick]

- load: Directory.load of the shipped demo dataset (gzip + JSON + validation + H3 index), best
  and median of a few loads in this process (imports already paid);
- resolve: 100,000 random points inside the city (uniform over its outline), each timed on its
  own (mean, p50, p99 in µs; the timer's own cost is shown beside), and the same points in one
  tight loop for lookups/s;
- baselines on 1,000 of the same points: the naive way, a scan over all community polygons with
  shapely until one contains the point, and a fairer one, a shapely STRtree query. Ratios are
  baseline / resolve means.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from importlib.resources import as_file, files

import shapely

from bench.common import save, summarize_us
from linkduty_shared.jurisdictions import Directory, Level

SEED = 119


def demo_path():
    return as_file(files("linkduty_shared.jurisdictions").joinpath("data/demo-city.geojson.gz"))


def measure_load(runs: int) -> tuple[Directory, dict]:
    times = []
    with demo_path() as path:
        for _ in range(runs):
            start = time.perf_counter()
            directory = Directory.load(path)
            times.append(time.perf_counter() - start)
        size = path.stat().st_size
    return directory, {"file_bytes": size, "best_ms": round(min(times) * 1e3, 1),
                       "median_ms": round(statistics.median(times) * 1e3, 1), "runs": runs}


def points_inside(directory: Directory, n: int) -> list[tuple[float, float]]:
    outline = directory.geometry(directory.city.code)
    shapely.prepare(outline)
    west, south, east, north = outline.bounds
    rng, points = random.Random(SEED), []
    while len(points) < n:
        lat, lon = rng.uniform(south, north), rng.uniform(west, east)
        if shapely.contains_xy(outline, lon, lat):
            points.append((lat, lon))
    return points


def per_call_us(lookup, points) -> list[float]:
    clock, samples = time.perf_counter_ns, []
    for lat, lon in points:
        start = clock()
        lookup(lat, lon)
        samples.append((clock() - start) / 1e3)
    return samples



def measure_resolve(directory: Directory, points) -> dict:
    resolve = directory.resolve
    for lat, lon in points[:1000]:  # warm up
        resolve(lat, lon)
    timer_cost = summarize_us(per_call_us(lambda lat, lon: None, points))
    per_call = summarize_us(per_call_us(resolve, points))
    start = time.perf_counter()
    for lat, lon in points:
        resolve(lat, lon)
    elapsed = time.perf_counter() - start
    return {**per_call, "timer_overhead_p50_us": timer_cost["p50_us"],
            "tight_loop_mean_us": round(elapsed / len(points) * 1e6, 3), "lookups_per_s": round(len(points) / elapsed)}


def polygon_baselines(directory: Directory, points) -> dict:
    communities = [(d.code, directory.geometry(d.code)) for d in directory.divisions(Level.COMMUNITY)]

    def naive_scan(lat: float, lon: float) -> str | None:
        return next((code for code, polygon in communities if shapely.contains_xy(polygon, lon, lat)), None)

    tree = shapely.STRtree([polygon for _, polygon in communities])

    def strtree(lat: float, lon: float) -> str | None:
        hits = tree.query(shapely.Point(lon, lat), predicate="intersects")
        return communities[hits[0]][0] if len(hits) else None

    for lat, lon in points[:50]:  # the baselines must agree with resolve() to count
        assert naive_scan(lat, lon) == strtree(lat, lon) == directory.resolve(lat, lon).community.code
    return {"naive_scan": summarize_us(per_call_us(naive_scan, points)),
            "strtree": summarize_us(per_call_us(strtree, points))}


def main(quick: bool) -> dict:
    n_points, n_baseline = (20_000, 200) if quick else (100_000, 1_000)
    directory, load = measure_load(runs=3 if quick else 5)
    points = points_inside(directory, n_points)
    gc.disable()  # a collection in the middle of a microsecond lookup would be the figure
    try:
        resolve = measure_resolve(directory, points)
        baselines = polygon_baselines(directory, points[:n_baseline])
    finally:
        gc.enable()
    start = time.perf_counter()
    directory.neighbours(directory.city.code)
    neighbours_ms = round((time.perf_counter() - start) * 1e3, 1)
    result = {
        "dataset": {"version": directory.version, **{lv.value: len(directory.divisions(lv)) for lv in Level},
                    "centres": len(directory.centres()), "forces": len(directory.forces())},
        "load": load, "resolve": resolve, "baselines": baselines, "neighbours_first_call_ms": neighbours_ms,
        "ratio_naive_scan_over_resolve": round(baselines["naive_scan"]["mean_us"] / resolve["mean_us"]),
        "ratio_strtree_over_resolve": round(baselines["strtree"]["mean_us"] / resolve["mean_us"], 1),
    }
    report(result)
    print(f"saved {save('jurisdictions', result)}")
    return result


def report(r: dict) -> None:
    d, load, res = r["dataset"], r["load"], r["resolve"]
    print(f"dataset {d['version']}: {d['district']} districts, {d['street']} streets, {d['community']} communities, "
          f"{d['grid']:,} grids, {d['centres']} centres, {d['forces']} forces; {load['file_bytes']:,} bytes gzipped")
    print(f"load: best {load['best_ms']} ms, median {load['median_ms']} ms of {load['runs']}")
    print(f"neighbours index, built on first call: {r['neighbours_first_call_ms']} ms")
    print(f"{'lookup':<34}{'points':>8}{'mean µs':>10}{'p50 µs':>9}{'p99 µs':>9}")
    rows = [("resolve() (H3 cell → dict)", res)] + [(f"baseline: {name}", s) for name, s in r["baselines"].items()]
    for name, s in rows:
        print(f"{name:<34}{s['count']:>8}{s['mean_us']:>10.2f}{s['p50_us']:>9.2f}{s['p99_us']:>9.2f}")
    print(f"resolve(): {res['lookups_per_s']:,} lookups/s in a tight loop ({res['tight_loop_mean_us']} µs each); "
          f"per-call figures include ~{res['timer_overhead_p50_us']} µs of timer")
    print(f"ratio, mean: naive scan / resolve = {r['ratio_naive_scan_over_resolve']}x, "
          f"STRtree / resolve = {r['ratio_strtree_over_resolve']}x")


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fifth of the points, for a smoke run")
    args = parser.parse_args(argv)
    main(args.quick)


if __name__ == "__main__":
    cli()
