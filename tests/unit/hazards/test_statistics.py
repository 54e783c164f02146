"""The pure part of hazard statistics: local days, counter cells, rectification buckets,
percentiles from buckets, rates, year on year, and how a period is read."""

import datetime as dt

import pytest

from hazards.domain.statistics import (
    ALL,
    DAY,
    MAX_PERIOD_DAYS,
    MONTH,
    PeriodRefused,
    Tally,
    cells,
    change_pct,
    check_period,
    figures,
    local_day,
    percentile,
    ratio,
    read_ranges,
    rectification_bucket,
    year_earlier,
)

JURISDICTION = {"grid": "g", "community": "c", "street": "s", "district": "d", "city": "x"}


def test_the_day_is_the_city_s_local_day_utc_plus_8():
    assert local_day(dt.datetime(2026, 2, 19, 15, 59, tzinfo=dt.UTC)) == dt.date(2026, 2, 19)
    assert local_day(dt.datetime(2026, 2, 19, 16, 0, tzinfo=dt.UTC)) == dt.date(2026, 2, 20)
    assert local_day(dt.datetime.fromisoformat("2026-02-20T00:30:00+08:00")) == dt.date(2026, 2, 20)
    assert local_day(dt.datetime.fromisoformat("2026-12-31T23:00:00-05:00")) == dt.date(2027, 1, 1)


def test_a_fact_counts_in_every_level_by_day_and_month_under_its_key_and_all_but_a_grid_under_all_only():
    got = cells(dt.date(2026, 3, 17), "ebike_indoors", JURISDICTION)
    assert len(got) == 2 + 4 * 4  # the grid's two ALL cells; four cells at each other level
    assert len(set(got)) == len(got)  # distinct: one upsert statement may not touch a row twice
    assert ("grid", "g", DAY, dt.date(2026, 3, 17), ALL) in got
    assert not [c for c in got if c[0] == "grid" and c[4] != ALL]
    assert ("street", "s", MONTH, dt.date(2026, 3, 1), "ebike_indoors") in got
    assert ("city", "x", DAY, dt.date(2026, 3, 17), ALL) in got


@pytest.mark.parametrize(("took", "bucket"), [
    (dt.timedelta(0), 0), (dt.timedelta(seconds=1), 1), (dt.timedelta(hours=5, minutes=30), 6),
    (dt.timedelta(hours=6), 6), (dt.timedelta(hours=72), 72), (dt.timedelta(hours=72, seconds=1), 96),
    (dt.timedelta(days=10, hours=1), 264), (dt.timedelta(days=60), 1440), (dt.timedelta(days=60, hours=1), 1512),
    (dt.timedelta(seconds=-5), 0),  # a clock that stepped back: never negative
])
def test_rectification_buckets_are_hours_then_days_then_weeks_rounded_up(took, bucket):
    assert rectification_bucket(took) == bucket


def test_percentiles_are_the_nearest_rank_bucket():
    assert percentile({}, 0.5) is None
    assert percentile({3: 0}, 0.5) is None
    assert percentile({6: 1, 30: 1}, 0.5) == 6  # rank ceil(0.5 × 2) = 1
    assert percentile({6: 1, 30: 1}, 0.9) == 30  # rank ceil(0.9 × 2) = 2
    assert percentile({1: 4, 2: 1, 5: 5}, 0.5) == 2  # rank 5: the 5th is in the 2 h bucket
    assert percentile({5: 5, 1: 4, 2: 1}, 0.9) == 5  # rank 9; the order given does not matter
    assert percentile({24: 10}, 0.9) == 24
    assert percentile({1: 9, 100: 1}, 0.9) == 1 and percentile({1: 8, 100: 2}, 0.9) == 100


def test_rates_are_undefined_without_a_denominator_and_year_on_year_without_an_earlier_value():
    assert ratio(1, 3) == 0.3333 and ratio(0, 4) == 0.0 and ratio(3, 0) is None and ratio(None, 2) is None
    assert ratio(7, 3, per=100, digits=2) == 233.33
    assert change_pct(6, 2) == 200.0 and change_pct(0.5, 1.0) == -50.0 and change_pct(2, 3) == -33.3
    assert change_pct(5, 0) is None and change_pct(None, 3) is None and change_pct(3, None) is None
    assert change_pct(0, 4) == -100.0


def test_the_figures_of_a_tally():
    tally = Tally({"reported": 10, "accepted": 6, "fixed_on_spot": 2, "closed": 4, "recurrences": 1,
                   "inspections_done": 8, "hazards_found": 3}, {2: 1, 10: 3})
    got = figures(tally)
    assert got["closure_rate"] == 0.5  # 4 / (6 + 2): one fixed on the spot was never triaged
    assert got["recurrence_rate"] == 0.1
    assert (got["rectification_hours_median"], got["rectification_hours_p90"]) == (10, 10)
    assert got["hazards_per_100_inspections"] == 37.5
    assert got["rejected"] == 0 and got["inspections_due"] == 0
    no_inspections = figures(tally, inspections=False)
    assert no_inspections["inspections_done"] is None and no_inspections["hazards_per_100_inspections"] is None
    assert no_inspections["reported"] == 10
    no_hazards = figures(tally, hazards=False)
    assert no_hazards["reported"] is None and no_hazards["closure_rate"] is None
    assert no_hazards["rectification_hours_median"] is None and no_hazards["inspections_done"] == 8
    assert figures(Tally({}, {}))["closure_rate"] is None


def test_a_period_is_inclusive_at_most_366_days_and_inside_the_years_reported_on():
    check_period(dt.date(2026, 1, 1), dt.date(2026, 1, 1))
    check_period(dt.date(2024, 1, 1), dt.date(2024, 12, 31))  # a leap year: 366 days
    with pytest.raises(PeriodRefused, match="at most 366"):
        check_period(dt.date(2025, 1, 1), dt.date(2026, 1, 2))
    with pytest.raises(PeriodRefused, match="before"):
        check_period(dt.date(2026, 1, 2), dt.date(2026, 1, 1))
    with pytest.raises(PeriodRefused, match="between"):
        check_period(dt.date(1999, 12, 31), dt.date(2000, 1, 1))
    with pytest.raises(PeriodRefused, match="between"):
        check_period(dt.date(2099, 12, 31), dt.date(2100, 1, 1))


def test_whole_months_are_read_by_month_cells_and_the_days_outside_them_by_day_cells():
    d = dt.date
    assert read_ranges(d(2026, 3, 1), d(2026, 3, 31)) == [(MONTH, d(2026, 3, 1), d(2026, 3, 1))]
    assert read_ranges(d(2026, 3, 2), d(2026, 3, 31)) == [(DAY, d(2026, 3, 2), d(2026, 3, 31))]
    assert read_ranges(d(2026, 2, 20), d(2026, 4, 5)) == [
        (DAY, d(2026, 2, 20), d(2026, 2, 28)), (MONTH, d(2026, 3, 1), d(2026, 3, 1)), (DAY, d(2026, 4, 1), d(2026, 4, 5))]
    assert read_ranges(d(2025, 1, 15), d(2026, 1, 14)) == [
        (DAY, d(2025, 1, 15), d(2025, 1, 31)), (MONTH, d(2025, 2, 1), d(2025, 12, 1)),
        (DAY, d(2026, 1, 1), d(2026, 1, 14))]
    assert read_ranges(d(2026, 12, 1), d(2026, 12, 31)) == [(MONTH, d(2026, 12, 1), d(2026, 12, 1))]


def _days(ranges) -> list[dt.date]:
    out = []
    for grain, lo, hi in ranges:
        day = lo
        while day <= hi:
            if grain == DAY:
                out.append(day)
                day += dt.timedelta(days=1)
            else:
                nxt = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
                out.extend(day + dt.timedelta(days=i) for i in range((nxt - day).days))
                day = nxt
    return out


def test_the_ranges_cover_every_day_of_the_period_once_and_read_few_cells():
    start = dt.date(2023, 12, 20)
    for offset in range(0, 400, 3):
        first = start + dt.timedelta(days=offset)
        for length in (1, 2, 27, 28, 29, 31, 32, 59, 60, 61, 90, 183, 365, MAX_PERIOD_DAYS):
            last = first + dt.timedelta(days=length - 1)
            ranges = read_ranges(first, last)
            days = _days(ranges)
            assert days == [first + dt.timedelta(days=i) for i in range(length)], (first, last, ranges)
            months = sum(1 for g, _, _ in ranges if g == MONTH)
            day_cells = sum((hi - lo).days + 1 for g, lo, hi in ranges if g == DAY)
            assert day_cells <= 61 and len(ranges) <= 3, (first, last, ranges)
            assert months == 0 or all(lo.day == 1 and hi.day == 1 for g, lo, hi in ranges if g == MONTH)


def test_a_year_earlier_is_the_same_date_and_29_february_the_28th():
    assert year_earlier(dt.date(2026, 3, 1)) == dt.date(2025, 3, 1)
    assert year_earlier(dt.date(2024, 2, 29)) == dt.date(2023, 2, 28)
    assert year_earlier(dt.date(2025, 2, 28)) == dt.date(2024, 2, 28)
