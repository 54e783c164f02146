"""The jurisdiction directory (辖区目录): city → district → street → community → micro-grid, the
operations centre of each division, and the fire-rescue forces, from one versioned dataset.

    from linkduty_shared.jurisdictions import load_demo_city
    chain = load_demo_city().resolve(30.27, 120.15)   # grid, community, street, district, city
    chain.centre_ids()                                # who sees an alarm there by default

The dataset format a real city brings is FORMAT.md beside this file; the demo city shipped in
data/ is made by `python -m linkduty_shared.jurisdictions.generate_demo`.
"""

from __future__ import annotations

import functools
from importlib.resources import as_file, files

from linkduty_shared.jurisdictions.directory import Directory
from linkduty_shared.jurisdictions.model import (
    Centre,
    Chain,
    Division,
    Force,
    Level,
    OutsideJurisdiction,
    bounding_box,
    distance_m,
)

DEMO_CITY_RESOURCE = "data/demo-city.geojson.gz"

__all__ = ["Centre", "Chain", "Directory", "Division", "Force", "Level", "OutsideJurisdiction", "bounding_box", "distance_m", "load_city",
           "load_demo_city"]


@functools.cache
def load_demo_city() -> Directory:
    """The shipped demo city, loaded once per process."""
    with as_file(files(__package__).joinpath(DEMO_CITY_RESOURCE)) as path:
        return Directory.load(path)


def load_city(path: str | None) -> Directory:
    """A city's dataset (GeoJSON, `directory_path` in every service's settings), or the demo city."""
    return Directory.load(path) if path else load_demo_city()
