import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import receipts
from crypto.errors import CryptoError, ReceiptChecksumError, ReceiptFormatError
from crypto.sealing import open_sealed, seal

from .conftest import FAST

SALT = b"instance-receipt-salt-0123456789"


def test_a_receipt_has_24_digits_and_valid_check_digits():
    code = receipts.generate_receipt()
    assert len(code) == 24 and code.isdigit()
    assert receipts.normalize_receipt(code) == code


def test_receipts_carry_at_least_64_bits_of_randomness():
    assert receipts.RANDOM_DIGITS * 3.3219 >= 64


def test_receipts_are_not_repeated():
    assert len({receipts.generate_receipt() for _ in range(2000)}) == 2000


def test_format_groups_of_four():
    code = "123456789012345678901234"
    assert receipts.format_receipt(code) == "1234-5678-9012-3456-7890-1234"


@given(st.integers(min_value=0, max_value=10**22 - 1))
def test_every_single_mistyped_digit_is_caught(body_int):
    body = f"{body_int:022d}"
    code = body + receipts.check_digits(body)
    assert receipts.normalize_receipt(code) == code
    for i, digit in enumerate(code):
        for other in "0123456789":
            if other != digit:
                with pytest.raises(ReceiptChecksumError):
                    receipts.normalize_receipt(code[:i] + other + code[i + 1 :])


@given(st.integers(min_value=0, max_value=10**22 - 1))
def test_every_swap_of_neighbouring_digits_is_caught(body_int):
    body = f"{body_int:022d}"
    code = body + receipts.check_digits(body)
    for i in range(len(code) - 1):
        if code[i] != code[i + 1]:
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
            with pytest.raises(ReceiptChecksumError):
                receipts.normalize_receipt(swapped)


@pytest.mark.parametrize(
    "typed",
    [
        "{g}",
        "{d}",
        " {s} ",
        "{fw}",
        "{g}".replace("-", "\u2013"),
        "{g}".replace("-", "\uff0d"),
        "{g}".replace("-", "\u3000"),
        "{g}\n",
        "\ufeff{g}\u200b",
        "{g}".replace("-", "\u00ad"),
        "{g}".replace("-", "\u3161"),
        "{g}".replace("-", "\u301c"),
        "{g}".replace("-", "\uff5e"),
        "{g}".replace("-", "\u2060"),
        "\u200e{d}",
    ],
)
def test_what_people_type_is_normalised(typed):
    code = receipts.generate_receipt()
    grouped = receipts.format_receipt(code)
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in grouped)
    text = typed.format(g=grouped, d=code, s=grouped.replace("-", " "), fw=fullwidth)
    assert receipts.normalize_receipt(text) == code


@pytest.mark.parametrize("typed", ["", "1234", "1" * 23, "1" * 25, "1234-5678-9012-3456-7890-123a", "\u0661" * 24])
def test_malformed_receipts_are_a_format_error(typed):
    with pytest.raises(ReceiptFormatError):
        receipts.normalize_receipt(typed)


def test_derivation_is_deterministic_and_depends_on_the_instance_salt():
    code = receipts.generate_receipt()
    a = receipts.derive_receipt_keys(code, SALT, FAST)
    b = receipts.derive_receipt_keys(receipts.format_receipt(code), SALT, FAST)
    c = receipts.derive_receipt_keys(code, b"another-instance-salt-0123456789", FAST)
    assert a.lookup_id == b.lookup_id and a.keypair == b.keypair
    assert a.lookup_id != c.lookup_id and a.keypair.public != c.keypair.public
    assert a.lookup_id != a.keypair.private and len(a.lookup_id) == 32


def test_the_receipt_key_pair_opens_what_was_sealed_to_it():
    code = receipts.generate_receipt()
    keys = receipts.derive_receipt_keys(code, SALT, FAST)
    blob = seal(keys.keypair.public, b"case key", b"case-key:1")
    again = receipts.derive_receipt_keys(code, SALT, FAST)
    assert open_sealed(again.keypair.private, blob, b"case-key:1") == b"case key"


def test_derivation_runs_argon2id_exactly_once(monkeypatch):
    calls = []
    real = receipts.argon2id

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(receipts, "argon2id", counting)
    receipts.derive_receipt_keys(receipts.generate_receipt(), SALT, FAST)
    assert len(calls) == 1


def test_a_typo_is_caught_before_any_slow_derivation(monkeypatch):
    monkeypatch.setattr(receipts, "argon2id", lambda *a, **k: pytest.fail("Argon2id ran"))
    code = receipts.generate_receipt()
    typo = code[:-1] + str((int(code[-1]) + 1) % 10)
    with pytest.raises(ReceiptChecksumError):
        receipts.derive_receipt_keys(typo, SALT, FAST)


def test_a_short_instance_salt_is_refused():
    with pytest.raises(CryptoError):
        receipts.derive_receipt_keys(receipts.generate_receipt(), b"short", FAST)
