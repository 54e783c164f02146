"""Sample CAP messages for the codec's tests: the OASIS examples, our own Hangzhou alert, and a
minimal valid alert that the refusal tests break one piece at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

# /work/main/tests/unit/cap/conftest.py -> /work/shared/testdata/...: the data is shared by every
# engineer's checkout, so it lives beside the repository, not in it.
OASIS_EXAMPLES = Path(__file__).resolve().parents[3].parent / "shared/testdata/cap-1.2-oasis-examples"
OASIS_EXAMPLE_FILES = (
    "example1-hsas.xml",
    "example2-thunderstorm.xml",
    "example3-earthquake-update.xml",
    "example4-amber-two-languages.xml",
)
HANGZHOU_FIRE = Path(__file__).resolve().parent / "data/hangzhou-fire-119.xml"

MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>HZ119-0001</identifier>
  <sender>zhihui@hz119.example.cn</sender>
  <sent>2026-11-23T08:15:30+08:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Fire</category>
    <event>Fire</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <effective>2026-11-23T08:15:30+08:00</effective>
    <area>
      <areaDesc>Hangzhou</areaDesc>
      <polygon>30.2,120.1 30.2,120.2 30.3,120.2 30.2,120.1</polygon>
      <circle>30.27,120.15 0.5</circle>
    </area>
  </info>
</alert>
"""


def read_oasis_example(name: str) -> bytes:
    if not OASIS_EXAMPLES.is_dir():
        pytest.fail(
            f"the OASIS CAP 1.2 examples are missing: expected the folder {OASIS_EXAMPLES} "
            "(shared/testdata/cap-1.2-oasis-examples beside the repository)"
        )
    return (OASIS_EXAMPLES / name).read_bytes()


def minimal_with(old: str, new: str) -> bytes:
    """MINIMAL with one fragment replaced; fails loudly if the fragment is not there."""
    assert old in MINIMAL, f"{old!r} is not in the minimal alert"
    return MINIMAL.replace(old, new, 1).encode()
