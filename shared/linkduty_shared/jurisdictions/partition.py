"""Carving an area of H3 cells into contiguous regions, reproducibly (for the demo generator).

Seeds are spread with Mitchell's best-candidate sampling (apart, but not on a lattice); regions
then grow from them by a multi-source BFS that takes turns, one frontier cell per region per
turn, so neighbouring regions end up of similar size and each is connected by construction.
"""

from __future__ import annotations

import math
import random
from collections import deque

import h3

LatLon = tuple[float, float]


class HexArea:
    """A set of cells with their centres, and a flat distance good enough at city scale."""

    def __init__(self, cells: list[str], centre_of: dict[str, LatLon]) -> None:
        self.cells = sorted(cells)
        self.centre_of = centre_of
        self._squeeze = math.cos(math.radians(centre_of[self.cells[0]][0]))

    def distance2(self, a: LatLon, b: LatLon) -> float:
        return (a[0] - b[0]) ** 2 + ((a[1] - b[1]) * self._squeeze) ** 2

    def seat(self) -> str:
        """The cell nearest the area's centroid: where its offices sit."""
        points = [self.centre_of[c] for c in self.cells]
        mean = (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
        return min(self.cells, key=lambda c: self.distance2(self.centre_of[c], mean))

    def pick_seeds(self, count: int, rng: random.Random, tries: int = 12) -> list[str]:
        seeds = [rng.choice(self.cells)]
        while len(seeds) < count:
            candidates = [rng.choice(self.cells) for _ in range(tries)]
            seeds.append(max(candidates, key=lambda c: min(self.distance2(self.centre_of[c], self.centre_of[s])
                                                           for s in seeds)))
            if seeds[-1] in seeds[:-1]:  # every candidate was a seed already (tiny areas): draw again
                seeds.pop()
        return seeds

    def split(self, count: int, rng: random.Random) -> list[HexArea]:
        """`count` contiguous regions covering the area (which must itself be contiguous)."""
        seeds = self.pick_seeds(count, rng)
        inside = set(self.cells)
        owner = {seed: i for i, seed in enumerate(seeds)}
        frontiers = [deque([seed]) for seed in seeds]
        while any(frontiers):
            for region, frontier in enumerate(frontiers):
                if frontier:
                    for neighbour in sorted(h3.grid_ring(frontier.popleft(), 1)):
                        if neighbour in inside and neighbour not in owner:
                            owner[neighbour] = region
                            frontier.append(neighbour)
        assert len(owner) == len(inside), "the area is not contiguous"
        members: list[list[str]] = [[] for _ in seeds]
        for cell, region in owner.items():
            members[region].append(cell)
        return [HexArea(cells, self.centre_of) for cells in members]


def allocate(total: int, weights: list[float], minimum: int) -> list[int]:
    """Split `total` in proportion to `weights`, at least `minimum` each (largest remainder)."""
    spare = total - minimum * len(weights)
    assert spare >= 0, "total too small for the minimum"
    shares = [w / sum(weights) * spare for w in weights]
    counts = [minimum + int(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(shares[i] - int(shares[i])), i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts
