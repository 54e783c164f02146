"""The forces a plan chooses from, indexed for the two questions a plan asks:

- which force of a kind covers a division (the street's team, the community's squad), and
- which forces of a kind are nearest an alarm by estimated travel time, nearest first.

The second is a sorted scan over the kind's bases, with their trigonometry precomputed: the demo
city has 28 stations and 120 micro fire stations, where a scan costs microseconds. A spatial index
(k-nearest over a KD-tree or H3 rings) can replace `by_travel_time` behind the same signature; it
yields lazily so that such an index need only find as many as the planner consumes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator

from units.domain.travel import EARTH_RADIUS_M, SpeedModel

if TYPE_CHECKING:  # for annotations only: the directory package pulls in shapely and H3, a plan needs neither
    from linkduty_shared.jurisdictions import Directory, Force


@dataclass(frozen=True, slots=True)
class _Base:
    """A force with its base's radians and cosine computed once, not on every alarm."""

    force: Force
    lat_r: float
    lon_r: float
    cos_lat: float


class ForceIndex:
    def __init__(self, forces: Iterable[Force]) -> None:
        by_kind: dict[str, list[_Base]] = defaultdict(list)
        covering: dict[tuple[str, str], list[Force]] = defaultdict(list)
        for force in forces:
            lat_r = math.radians(force.lat)
            by_kind[force.kind].append(_Base(force, lat_r, math.radians(force.lon), math.cos(lat_r)))
            covering[(force.kind, force.division_code)].append(force)
        # Sorted by id so that every plan over the same forces walks them in the same order.
        self._by_kind = {kind: tuple(sorted(bases, key=lambda b: b.force.id)) for kind, bases in by_kind.items()}
        self._covering = {key: tuple(sorted(fs, key=lambda f: f.id)) for key, fs in covering.items()}
        self._by_id = {b.force.id: b.force for bases in by_kind.values() for b in bases}

    @classmethod
    def from_directory(cls, directory: Directory) -> ForceIndex:
        return cls(directory.forces())

    def force(self, force_id: str) -> Force:
        try:
            return self._by_id[force_id]
        except KeyError:
            raise KeyError(f"no force {force_id!r}") from None

    def count(self, kind: str) -> int:
        return len(self._by_kind.get(kind, ()))

    def covering(self, kind: str, division_code: str) -> tuple[Force, ...]:
        """The forces of `kind` whose division is `division_code` (normally one), by id."""
        return self._covering.get((kind, division_code), ())

    def by_travel_time(self, kind: str, lat: float, lon: float, speed: SpeedModel) -> Iterator[tuple[float, Force]]:
        """(eta_s, force) for every force of `kind`, nearest first; equal ETAs in id order."""
        bases = self._by_kind.get(kind, ())
        if not bases:
            return iter(())
        lat_r, lon_r = math.radians(lat), math.radians(lon)
        cos_lat = math.cos(lat_r)
        turnout, per_m, diameter = speed.turnout(kind), speed.seconds_per_metre, 2 * EARTH_RADIUS_M
        sin, asin, sqrt = math.sin, math.asin, math.sqrt
        etas = []
        for index, b in enumerate(bases):
            # Haversine, as travel.great_circle_m, with the base's half of it precomputed.
            a = sin((b.lat_r - lat_r) / 2) ** 2 + cos_lat * b.cos_lat * sin((b.lon_r - lon_r) / 2) ** 2
            etas.append((turnout + diameter * asin(sqrt(a)) * per_m, index))
        etas.sort()  # (eta, index): the index, in id order, breaks ties deterministically
        return ((eta, bases[index].force) for eta, index in etas)
