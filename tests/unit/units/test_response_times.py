"""Response-time analytics on a known scenario, checked against a hand calculation."""

import datetime as dt

from units.analytics.response_times import Targets, UnitTimeline, percentile, report

T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def scenario() -> list[UnitTimeline]:
    """Ten fire alarms. Alarm i: dispatched after 30+5i s, the main engine turns out in 50+5i s and
    travels 200+10i s; the community squad is on scene at 150+40i s after the call."""
    timelines = []
    for i in range(10):
        dispatched = 30 + 5 * i
        en_route = dispatched + 50 + 5 * i
        on_scene = en_route + 200 + 10 * i
        timelines.append(UnitTimeline(f"a{i}", f"engine-{i}", "main", "fire", at(0), at(dispatched), at(en_route),
                                      at(on_scene)))
        timelines.append(UnitTimeline(f"a{i}", f"squad-{i}", "auxiliary_2", "fire", at(0), at(dispatched + 1),
                                      at(dispatched + 2), at(150 + 40 * i)))
    return timelines


def test_percentile_is_nearest_rank():
    assert percentile(range(1, 11), 90) == 9  # rank ⌈0.9·10⌉ = 9
    assert percentile([5.0], 90) == 5.0 and percentile([], 90) is None


def test_the_report_gives_what_a_hand_calculation_gives():
    r = report(scenario())
    # processing per alarm: 30, 35, … 75 → 9th of 10 = 70 s; within 60 s: 30…60 = 7 of 10
    assert (r.processing.p90_s, r.processing.within_target, r.processing.meets_target) == (70, 0.7, False)
    # turnout: 50, 55, … 95 → 90 s; within 80 s: 50…80 = 7 of 10
    assert (r.turnout.p90_s, r.turnout.within_target) == (90, 0.7)
    # travel of the first engine: 200, 210, … 290 → 280 s; within 240 s: 5 of 10
    assert (r.travel_first_engine.p90_s, r.travel_first_engine.within_target) == (280, 0.5)
    # engine on scene at 280+20i s, squad at 150+40i s: the squad is first while 150+40i < 280+20i, i ≤ 6
    assert r.squad_first_on_scene == 0.7
    # its leads: 130, 110, 90, 70, 50, 30, 10 → median (rank 4 of 7) = 70 s
    assert r.squad_lead_median_s == 70 and r.alarms == 10


def test_targets_are_configurable():
    r = report(scenario(), Targets(processing_p90_s=75, turnout_fire_s=95, travel_first_engine_s=300))
    assert r.processing.meets_target and r.turnout.meets_target and r.travel_first_engine.meets_target


def test_an_order_that_ended_before_arrival_counts_for_processing_only():
    # The first engine is ordered at 20 s and declines; the replacement, ordered at 90 s, turns out in
    # 60 s and travels 100 s. The squad ordered at 25 s is stood down after having set off.
    timelines = [
        UnitTimeline("a", "engine-1", "main", "fire", at(0), at(20), ended="declined"),
        UnitTimeline("a", "engine-2", "main", "fire", at(0), at(90), at(150), at(250)),
        UnitTimeline("a", "squad", "auxiliary_2", "fire", at(0), at(25), at(30), ended="stood_down"),
    ]
    r = report(timelines)
    assert r.processing.p90_s == 20  # the centre's first order, declined or not
    assert (r.turnout.count, r.turnout.p90_s, r.travel_first_engine.p90_s) == (1, 60, 100)
    assert r.squad_first_on_scene is None


def test_a_unit_ordered_again_counts_its_first_order_for_processing_and_its_last_for_turnout():
    t = UnitTimeline("a", "engine-1", "main", "fire", at(0), at(300), at(340), at(500), first_dispatched_at=at(40))
    assert (t.processing_s, t.turnout_s, t.travel_s) == (40, 40, 160)
