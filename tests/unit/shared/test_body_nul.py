"""The body check for JSON NUL escapes: an odd run of backslashes before u0000 is one, an even
run is an escaped backslash and the text "u0000", and a big body without either costs nothing."""

import asyncio
import time

import pytest

from linkduty_shared.api.limits import has_json_nul


@pytest.mark.parametrize(("body", "nul"), [
    (rb'{"a": "\u0000"}', True), (rb'{"a": "x\\\u0000"}', True), (rb'{"a": "\\u0000"}', False),
    (rb'{"a": "\\\\u0000"}', False), (rb'{"a": "u0000"}', False), (b'{"a": "plain"}', False),
    (rb'\\u0000 then \u0000', True),
])
def test_an_odd_run_of_backslashes_before_u0000_is_a_nul(body, nul):
    assert asyncio.run(has_json_nul(body)) is nul


def test_a_body_of_escaped_backslashes_is_examined_in_slices_and_found_clean():
    body = rb"\\u0000" * 200_000  # 1.4 MB of matches, none a NUL
    assert asyncio.run(has_json_nul(body)) is False


def test_four_mib_without_u0000_is_one_substring_search():
    body = ("店" * 1_400_000).encode()
    started = time.perf_counter()
    assert asyncio.run(has_json_nul(body)) is False
    assert time.perf_counter() - started < 0.5  # a generous bound: the lookbehind pattern took 89 ms
