"""Validators and the decoder turn every hostile value into a RecordError naming the field, never another exception.

Each of these once escaped as ValueError, OverflowError or RecursionError
(or reached PostgreSQL as a NUL it cannot store) and aborted a whole import.
"""

from __future__ import annotations

import io

import pytest

from monitoring_bridge import validate
from monitoring_bridge.decode import MAX_LINE, Oversized, decode_json, read_lines
from monitoring_bridge.errors import RecordError


def _refused(fn, value: object, *args: object) -> RecordError:
    with pytest.raises(RecordError) as exc:
        fn({"f": value}, "f", *args)
    assert exc.value.field == "f"
    assert not isinstance(value, str) or len(value) < 4 or value not in exc.value.reason
    return exc.value


@pytest.mark.parametrize("value", ["--3", "²", "١٢", "-", "3-", " - 3", "1e3", "0x1f", "9" * 19, 10**18, -(10**18)])
def test_integer_refuses_anything_but_short_ascii_digits(value):
    _refused(validate.integer, value)


@pytest.mark.parametrize(("value", "expected"), [("42", 42), (" -7 ", -7), ("9" * 18, 10**18 - 1), (5, 5)])
def test_integer_accepts_ascii_digits_and_json_numbers(value, expected):
    assert validate.integer({"f": value}, "f") == expected


def test_integer_says_which_bound_without_none():
    assert _refused(validate.integer, -1, 0).reason == "must be at least 0"


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+09:00",
        "0001-01-01T05:00:00+00:00",
        "9999-12-31T23:00:00-05:00",
        "1899-12-31T23:59:59+00:00",
    ],
)
def test_instant_refuses_years_no_source_means(value):
    assert _refused(validate.instant, value).reason == "year must be between 1900 and 2200"


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "2201-01-01"])
def test_day_refuses_years_no_source_means(value):
    assert _refused(validate.day, value).reason == "year must be between 1900 and 2200"


def test_the_sane_years_themselves_are_accepted():
    assert validate.instant({"f": "1900-01-01T00:00:00+00:00"}, "f").year == 1900
    assert validate.instant({"f": "2200-12-31T23:59:59-12:00"}, "f").year == 2201  # in UTC: still representable
    assert validate.day({"f": "2200-12-31"}, "f") is not None


@pytest.mark.parametrize("value", ["EH\x00017", "\x00", "a\x1bb", "a\x7fb\x01", "line\x0bfeed"])
def test_text_refuses_nul_and_control_characters(value):
    assert "control character" in _refused(validate.text, value).reason


def test_text_keeps_tabs_and_line_breaks():
    assert validate.text({"f": "a\tb\nc\r\nd"}, "f") == "a\tb\nc\r\nd"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"a": ' + b"9" * 5000 + b"}", "malformed JSON: a number has too many digits"),
        (b"[" * 30000, "malformed JSON: nested too deeply"),
        (b'{"a": ' * 30000, "malformed JSON: nested too deeply"),
    ],
)
def test_decode_json_turns_every_parser_failure_into_a_record_error(raw, reason):
    with pytest.raises(RecordError) as exc:
        decode_json(raw)
    assert (exc.value.field, exc.value.reason) == ("_line", reason)


def test_read_lines_splits_at_lf_only_and_keeps_max_line_bytes_before_it():
    exact = b"x" * MAX_LINE
    data = b"a\rb\n" + exact + b"\n" + exact + b"y\n" + b"last"
    out = list(read_lines(io.BytesIO(data)))
    assert [raw for _, raw in out][:2] == [b"a\rb\n", exact + b"\n"]
    assert isinstance(out[2][1], Oversized) and out[3][1] == b"last"
    assert [end for end, _ in out] == [4, 4 + MAX_LINE + 1, 4 + 2 * (MAX_LINE + 1) + 1, len(data)]


def test_read_lines_tells_oversized_lines_apart_by_content():
    one, other = b"a" * (MAX_LINE + 5) + b"\n", b"b" * (MAX_LINE + 5) + b"\n"
    digests = [raw for _, raw in read_lines(io.BytesIO(one + other + one))]
    assert digests[0] != digests[1] and digests[0] == digests[2]


@pytest.mark.parametrize("value", ["20260511", "2026-W19-1", "2026-5-11", "\uff12\uff10\uff12\uff16-05-11"])
def test_a_day_in_another_iso_form_than_yyyy_mm_dd_is_refused(value):
    with pytest.raises(RecordError) as err:
        validate.day({"f": value}, "f")
    assert err.value.field == "f" and value not in str(err.value)
