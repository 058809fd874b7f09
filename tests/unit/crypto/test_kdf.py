import pytest

from crypto.errors import WeakParametersError
from crypto.kdf import DEFAULT_PARAMS, Argon2Params, argon2id


def test_default_parameters_meet_the_production_minimum():
    DEFAULT_PARAMS.check_production()
    assert DEFAULT_PARAMS.memory_kib >= 64 * 1024
    assert DEFAULT_PARAMS.iterations >= 2


@pytest.mark.parametrize(
    "params",
    [Argon2Params(memory_kib=64 * 1024 - 1, iterations=2), Argon2Params(memory_kib=64 * 1024, iterations=1)],
)
def test_anything_below_64_mib_and_two_passes_is_refused_for_production(params):
    with pytest.raises(WeakParametersError):
        params.check_production()


@pytest.mark.parametrize(
    "params",
    [
        Argon2Params(lanes=0),
        Argon2Params(lanes=9),
        Argon2Params(memory_kib=7),
        Argon2Params(iterations=0),
        Argon2Params(memory_kib=256 * 1024 + 1),
        Argon2Params(iterations=11),
    ],
)
def test_out_of_range_parameters_are_refused(params):
    with pytest.raises(WeakParametersError):
        argon2id(b"pw", b"s" * 16, params)


def test_argon2id_is_deterministic_and_salted():
    p = Argon2Params(memory_kib=64, iterations=1)
    assert argon2id(b"pw", b"a" * 16, p) == argon2id(b"pw", b"a" * 16, p)
    assert argon2id(b"pw", b"a" * 16, p) != argon2id(b"pw", b"b" * 16, p)
