"""Personal numbers masked (linkduty_shared.domain.personal_data), for every service's free text."""

import pytest

from linkduty_shared.domain.personal_data import mask_phone, scrub_personal_numbers


@pytest.mark.parametrize("text, scrubbed", [
    ("厨房起火，回电13812345678", "厨房起火，回电*******5678"),
    ("电话 0571-8765 4321 王先生", "电话 ********4321 王先生"),
    ("报警人身份证33010519800101123X", "报警人身份证**************123X"),
    ("+86 138 1234 5678 楼下", "*********5678 楼下"),
    ("3幢1502室，2026年起火，共12人", "3幢1502室，2026年起火，共12人"),  # rooms, years, counts stay
    ("3号楼 12-2-1203室，2024-05-01 14:30起火", "3号楼 12-2-1203室，2024-05-01 14:30起火"),  # what dispatch needs
    ("tel13812345678", "tel*******5678"),  # letters around a number do not hide it
])
def test_phone_and_id_numbers_in_free_text_show_at_most_their_last_four_digits(text, scrubbed):
    assert scrub_personal_numbers(text) == scrubbed


@pytest.mark.parametrize("phone, masked", [
    ("13812345678", "*******5678"), ("+86 138-1234-5678", "*******5678"), ("110", "**0"), ("1234", "**34"),
    (None, None),
])
def test_phone_numbers_are_masked(phone, masked):
    assert mask_phone(phone) == masked
