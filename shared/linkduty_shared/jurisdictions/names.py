"""Place names for the demo city that read like real ones, drawn from a seeded RNG.

A name is two characters, a first from FIRST and a second from SECOND (翠 + 苑 → 翠苑), then the
suffix of its kind (区, 街道, 镇, 社区, 村). Every base name is used once in the city, so names
are unique within any parent and a console never shows two "清泉社区".
"""

from __future__ import annotations

import random

FIRST = "东西南北清安和平文龙凤翠新长永金银梅桂兰柳松竹石宝宁兴福康华明春景云青锦丰德双古白紫玉仁广万瑞胜嘉秀"
SECOND = "湖江山桥城溪塘河港浦坊苑园林源泉岭坞湾洲埠墩里庄阳兴宁华丰峰渚堰浜池门亭圩庙滨口"

CITY_NAME = "云溪市"  # invented, so the demo is never mistaken for a real city's data


class PlaceNames:
    """Draws unused two-character base names."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def base(self) -> str:
        while True:
            first, second = self._rng.choice(FIRST), self._rng.choice(SECOND)
            name = first + second
            if first != second and name not in self._used:  # no "兴兴"
                self._used.add(name)
                return name


def district_name(base: str) -> str:
    return base + "区"


def street_name(base: str, is_town: bool) -> str:
    return base + ("镇" if is_town else "街道")


def community_name(base: str, is_village: bool) -> str:
    return base + ("村" if is_village else "社区")


def grid_name(community: str, serial: int) -> str:
    return f"{community}{serial}号微网格"


def centre_name(division_name: str, level: str) -> str:
    """市城运中心, 区/镇街城运分中心, 村社区平台 (GLOSSARY.md)."""
    return division_name + {"city": "城运中心", "community": "平台"}.get(level, "城运分中心")


def station_name(street_base: str) -> str:
    return street_base + "消防救援站"


def street_team_name(street: str) -> str:
    return street + "应急队"


def community_squad_name(community: str) -> str:
    return community + "应急分队"


def micro_station_name(community: str) -> str:
    return community + "微型消防站"
