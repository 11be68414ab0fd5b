"""docs/api.md's password rules, one by one."""

from __future__ import annotations

import pytest

from services.auth import password_policy
from services.auth.password_policy import MAX_LENGTH, check_new_password
from services.common.errors import InvalidArgument

EMAIL = "marguerite@example.org"
STRONG = "violet tundra marmalade 47"


def _refusal(password: str, email: str = EMAIL) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as error:
        check_new_password(password, email)
    return error.value


def test_a_strong_passphrase_passes() -> None:
    assert check_new_password(STRONG, EMAIL) == STRONG


def test_too_short_is_weak_with_a_score() -> None:
    error = _refusal("x7#Kq!")
    assert error.reason == "weak_password"
    assert error.metadata["rule"] == "too_short"
    assert error.metadata["score"].isdigit()
    assert "at least 8" in error.message


def test_too_long_is_refused_before_any_scoring(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_run(*args: object, **kwargs: object) -> dict[str, object]:
        raise AssertionError("a too-long password was scored")

    monkeypatch.setattr(password_policy, "zxcvbn", must_not_run)
    error = _refusal("a" * (MAX_LENGTH + 1))
    assert error.reason == "validation_failed"
    assert error.field_violations == (("password", f"must be at most {MAX_LENGTH} characters"),)


def test_the_longest_accepted_password_passes() -> None:
    password = (STRONG + " ") * 9
    password = password[:MAX_LENGTH]
    assert check_new_password(password, EMAIL) == password


def test_containing_the_email_local_part_is_weak() -> None:
    error = _refusal("Blue MARGUERITE harbour 91")
    assert error.reason == "weak_password"
    assert error.metadata["rule"] == "contains_email"


def test_a_short_local_part_is_not_a_rule() -> None:
    assert check_new_password("jo violet tundra marmalade", "jo@example.org")


def test_containing_the_product_name_is_weak() -> None:
    error = _refusal("violet TrackCC marmalade 47")
    assert error.reason == "weak_password"
    assert error.metadata["rule"] == "contains_product_name"


@pytest.mark.parametrize("password", ["password123", "qwertyuiop", "iloveyou2024"])
def test_common_passwords_are_weak_and_say_why(password: str) -> None:
    error = _refusal(password)
    assert error.reason == "weak_password"
    assert error.metadata["rule"] == "guessable"
    assert int(error.metadata["score"]) < 3
    assert error.message.startswith("password is too easy to guess")
    assert error.field_violations[0][0] == "password"


def test_nfkc_makes_a_fullwidth_password_equal_to_its_ascii_form() -> None:
    fullwidth = "ｖｉｏｌｅｔ　ｔｕｎｄｒａ　ｍａｒｍａｌａｄｅ　４７"
    assert fullwidth != STRONG
    assert check_new_password(fullwidth, EMAIL) == check_new_password(STRONG, EMAIL) == STRONG


def test_spaces_and_any_unicode_are_allowed_and_kept() -> None:
    password = "  żółw ßtraße Ωmega 9  "
    assert check_new_password(password, EMAIL) == password


@pytest.mark.parametrize("password", ["q7#Lm2Wz", "k9$Vx2pQ", "Zr4!mW8@"])
def test_eight_random_characters_pass(password: str) -> None:
    assert check_new_password(password, EMAIL) == password


def test_guessable_means_under_ten_to_the_eighth_guesses() -> None:
    error = _refusal("Tr0ub4dour&3")
    assert error.reason == "weak_password"
    assert error.metadata["rule"] == "guessable"
    assert error.metadata["score"] == "2"
