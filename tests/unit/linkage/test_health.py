"""The linkage worker's liveness: its heartbeat file, fresh or not."""

import os

from linkage.config import LinkageSettings
from linkage.health import beat, check, heartbeat_path


def test_a_fresh_heartbeat_is_alive_and_a_stale_or_missing_one_is_not(tmp_path):
    settings = LinkageSettings(data_dir=str(tmp_path / "linkage"), heartbeat_max_age_s=30)
    path = heartbeat_path(settings.data_dir)
    assert "no heartbeat" in check(settings)
    beat(path)  # creates the data folder too
    assert check(settings) is None
    stale = path.stat().st_mtime - 31
    os.utime(path, (stale, stale))
    assert "stuck" in check(settings)
    beat(path)
    assert check(settings) is None
