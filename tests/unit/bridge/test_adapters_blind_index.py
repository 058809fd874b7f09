"""The blind index of employee numbers: normalisation, keying, versioning."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from monitoring_bridge.blind_index import BlindIndexError, blind_index, normalise_employee_number, same_index

KEY = bytes(range(32))


@pytest.mark.parametrize(
    "written",
    [
        "AB-12345",
        "ab12345",
        " AB 12345 ",
        "ab\u201312 345",
        "\uff21\uff22\uff0d\uff11\uff12\uff13\uff14\uff15",
        "AB\u221212345",
    ],
)
def test_every_spelling_of_one_employee_number_gives_the_same_index(written):
    assert normalise_employee_number(written) == "AB12345"
    assert blind_index(KEY, written) == blind_index(KEY, "AB12345")


def test_the_index_is_versioned_hmac_sha256_of_the_normalised_number():
    expected = hmac.new(KEY, b"haechi/blind-index/v1\x00AB12345", hashlib.sha256).digest()
    assert blind_index(KEY, "ab-12345") == expected
    assert len(expected) == 32


def test_different_numbers_and_different_keys_give_different_indexes():
    assert blind_index(KEY, "AB12345") != blind_index(KEY, "AB12346")
    assert blind_index(KEY, "AB12345") != blind_index(bytes(32), "AB12345")


def test_the_index_does_not_contain_the_number_or_its_plain_hash():
    index = blind_index(KEY, "20170042")
    assert b"20170042" not in index
    assert index != hashlib.sha256(b"20170042").digest()


@pytest.mark.parametrize("written", ["", "   ", "--", " - "])
def test_a_number_that_normalises_to_nothing_is_refused(written):
    with pytest.raises(BlindIndexError):
        blind_index(KEY, written)


def test_a_key_of_the_wrong_size_is_refused():
    with pytest.raises(BlindIndexError):
        blind_index(b"short", "AB12345")


def test_indexes_are_compared_in_constant_time():
    a = blind_index(KEY, "AB12345")
    assert same_index(a, blind_index(KEY, "ab 12345"))
    assert not same_index(a, blind_index(KEY, "AB12346"))
