"""`bench notifications` at a tiny scale, so that it cannot rot: both shapes, one run each, with the
real components (linkage worker and gateway processes, consoles on every centre's stream)."""

import pytest

from bench.notifications import ROUTED_PER_ALARM, SHAPES, main, parser


@pytest.mark.timeout(240)
async def test_the_notifications_bench_measures_both_shapes_and_nothing_is_lost(capsys):
    result = await main(parser().parse_args(["--rate", "4", "--seconds", "3", "--runs", "1", "--warmup", "1",
                                             "--baseline", "1", "--no-save"]))
    runs = {r["shape"]: r for r in result["runs"]}
    assert list(runs) == list(SHAPES)
    for r in runs.values():
        assert r["valid"], r["problems"]
        assert (r["alarms"], r["lost"], r["duplicated"]) == (12, 0, 0)
        assert r["console_latency"]["count"] == round(r["alarms"] * r["centres_per_record"])  # every centre, once
        assert r["cpu_ms_per_alarm"]["linkage"] > 0 and r["cpu_ms_per_alarm"]["gateway"] > 0
        assert r["cpu_ms_per_alarm"]["postgres"] > 0
    per_centre, per_event = runs["per_centre"], runs["per_event"]
    assert per_event["notifications"]["records_per_alarm"] == ROUTED_PER_ALARM
    assert per_centre["notifications"]["records_per_alarm"] == pytest.approx(
        ROUTED_PER_ALARM * per_centre["centres_per_record"], rel=0.01)  # (centres per record rounded)
    assert per_event["notifications"]["bytes_per_alarm"] < per_centre["notifications"]["bytes_per_alarm"]
    assert set(result["summary"]["ratio_per_event_to_per_centre"]) >= {"linkage", "gateway", "total",
                                                                       "records_per_alarm"}
    printed = capsys.readouterr().out
    assert "per_event / per_centre:" in printed
