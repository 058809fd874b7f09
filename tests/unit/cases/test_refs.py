"""Case references: one format and one alphabet for reports and bridge cases."""

from __future__ import annotations

import re
from collections import Counter

from app.cases import refs

REF = re.compile(r"HC-2026-[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{6}")


def test_a_reference_is_the_year_and_six_letters_of_the_alphabet():
    for _ in range(200):
        assert REF.fullmatch(refs.random_ref(2026))


def test_the_alphabet_leaves_out_letters_misread_over_the_phone():
    assert len(set(refs.ALPHABET)) == 32
    assert not set("0O1I") & set(refs.ALPHABET)


def test_every_letter_is_drawn_at_every_position():
    """A masking slip (``& 15``) or a fixed letter would leave letters out; 4,000 draws miss none by chance."""
    draws = [refs.random_ref(2026)[-6:] for _ in range(4000)]
    for position in range(6):
        seen = Counter(d[position] for d in draws)
        assert set(seen) == set(refs.ALPHABET), position


def test_references_are_not_sequential_or_repeated():
    draws = [refs.random_ref(2026) for _ in range(2000)]
    assert len(set(draws)) == len(draws)
    assert draws != sorted(draws)
