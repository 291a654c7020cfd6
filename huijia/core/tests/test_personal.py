"""ID numbers, mobile numbers and their masks; encryption at rest with a blind index."""

import pytest
from django.core.exceptions import ValidationError

from huijia.core.crypto import blind_index, decrypt, encrypt
from huijia.core.personal import (
    mask_id_number,
    mask_mobile,
    mask_name,
    validate_id_number,
    validate_mobile,
)
from huijia.core.testing import make_id_number


def test_a_valid_id_number_passes_and_is_normalised():
    # 11010519491231002X is the checksum example of GB 11643-1999.
    assert validate_id_number(" 11010519491231002x ") == "11010519491231002X"
    assert validate_id_number(make_id_number(5)) == make_id_number(5)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("110105194912310021", "id_checksum"),
        ("11010519491331002X", "id_birth_date"),
        ("1101051949123100", "id_format"),
        ("", "id_format"),
        ("11010519491231002Y", "id_format"),
    ],
)
def test_bad_id_numbers_are_refused_with_a_reason(value, code):
    with pytest.raises(ValidationError) as exc:
        validate_id_number(value)
    assert exc.value.code == code


@pytest.mark.parametrize("value", ["13812345678", "+86 138-1234-5678", "19912345678"])
def test_mobile_numbers(value):
    assert validate_mobile(value).startswith("1")
    assert len(validate_mobile(value)) == 11


@pytest.mark.parametrize("value", ["12812345678", "1381234567", "138123456789", "abc", ""])
def test_bad_mobile_numbers(value):
    with pytest.raises(ValidationError):
        validate_mobile(value)


def test_masks_hide_the_middle():
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳小明") == "欧**明"


def test_encryption_round_trips_and_is_not_deterministic():
    token_a, token_b = encrypt("13812345678"), encrypt("13812345678")
    assert token_a != token_b
    assert "13812345678" not in token_a
    assert decrypt(token_a) == decrypt(token_b) == "13812345678"


def test_blind_index_is_stable_and_keyed():
    assert blind_index("11010519491231002x") == blind_index("11010519491231002X ")
    assert blind_index("13812345678") != blind_index("13812345679")
    assert "13812345678" not in blind_index("13812345678")
