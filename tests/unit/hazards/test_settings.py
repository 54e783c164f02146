"""The service's settings, checked at the composition root before anything starts."""

import pytest

from hazards.bootstrap import triage_within
from hazards.config import HazardsSettings


def test_the_default_triage_deadlines_are_tighter_for_graver_hazards():
    within = triage_within(HazardsSettings())
    assert within["major"] < within["moderate"] < within["minor"]


@pytest.mark.parametrize("hours", [{"minor": 72, "moderate": 24}, {"minor": 72, "moderate": 24, "major": 0},
                                   {"minor": 72, "moderate": 24, "major": 2, "dire": 1}])
def test_triage_deadlines_missing_a_severity_or_not_positive_are_refused(hours):
    with pytest.raises(ValueError, match="triage_within_hours"):
        triage_within(HazardsSettings(triage_within_hours=hours))


@pytest.mark.parametrize("update", [{"deadline_sweep_interval_s": 0}, {"deadline_sweep_batch": 0}])
def test_a_deadline_sweep_that_never_waits_or_never_escalates_is_refused(update):
    from hazards.bootstrap import build_app

    with pytest.raises(ValueError, match="deadline_sweep"):
        build_app(HazardsSettings(**update))
