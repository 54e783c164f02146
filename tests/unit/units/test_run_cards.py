"""Run cards: the shipped file, lookup from specific to default, and validation errors."""

import pytest

from units.domain.run_cards import default_run_cards, parse_run_cards

GOOD_DEFAULT = """
version = "t"
[default]
stations = 1
units = ["engine"]
auxiliary_1 = true
auxiliary_2 = true
"""


def test_shipped_cards_scale_the_main_force_with_the_fire():
    cards = default_run_cards()
    assert [cards.for_alarm("fire", s).stations for s in ("minor", "moderate", "major", "extreme")] == [1, 1, 2, 3]
    assert cards.for_alarm("fire", "moderate").units == ("engine",)
    assert cards.for_alarm("rescue", "extreme").name == "rescue.any"
    assert cards.for_alarm("hazmat", "major").stations == 2
    assert cards.for_alarm("hazmat", "minor").name == "hazmat.any"
    assert not cards.for_alarm("hazmat", "major").auxiliary_2  # volunteers kept away from the substance
    assert cards.for_alarm("medical", "major").name == "default"


def card(body: str, name: str = "fire.major") -> str:
    return GOOD_DEFAULT + f"[{name}]\n" + body


FULL = 'stations = 2\nunits = ["engine"]\nauxiliary_1 = true\nauxiliary_2 = true\n'


@pytest.mark.parametrize("text, message", [
    (card(FULL.replace("stations = 2", "stations = -1")), r"run card fire\.major: stations must be a whole number"),
    (card(FULL.replace("stations = 2", "stations = true")), r"run card fire\.major: stations must be"),
    (card(FULL.replace("stations = 2", "stations = 1.5")), r"run card fire\.major: stations must be"),
    (card(FULL.replace('["engine"]', "[]")), r"run card fire\.major: 2 station\(s\) called out with no units"),
    (card(FULL.replace('["engine"]', '"engine"')), r"run card fire\.major: units must be a list"),
    (card(FULL.replace("auxiliary_2 = true", 'auxiliary_2 = "yes"')), r"run card fire\.major: auxiliary_2 must be"),
    (card(FULL.replace("auxiliary_1", "auxilary_1")), r"run card fire\.major: unknown key\(s\) auxilary_1"),
    (card(FULL.replace("auxiliary_1 = true\n", "")), r"run card fire\.major: missing key\(s\) auxiliary_1"),
    (card(FULL, name="fire.huge"), r"run card fire\.huge: unknown severity 'huge'"),
    (card(FULL, name="flood.major"), r"run card flood: unknown alarm kind 'flood'"),
    (GOOD_DEFAULT.replace("[default]", "[fire.minor]"), r"a \[default\] card is required"),
    (GOOD_DEFAULT.replace('version = "t"', ""), r"'version' must be"),
    (GOOD_DEFAULT + "[fire", r"not valid TOML"),
])
def test_a_bad_card_is_named_in_the_error(text, message):
    with pytest.raises(ValueError, match=message):
        parse_run_cards(text)


def test_zero_stations_is_a_valid_card():
    cards = parse_run_cards(card(FULL.replace("stations = 2", "stations = 0").replace('["engine"]', "[]"),
                                 name="medical.any"))
    assert cards.for_alarm("medical", "minor").stations == 0
