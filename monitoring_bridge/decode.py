"""Decoding of bridge files and feeds into one dict per record, shared by every adapter.

Files are read line by line in binary with a bounded ``readline``, so a file of
any size (or one hostile, endless line) costs constant memory. Every fault is
a :class:`RecordError` on field ``_line``: the importer quarantines the raw
bytes and goes on with the next line.

CSV files are one record per line (no quoted newlines), with a header line
naming the adapter's columns; an empty cell is an absent value.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from monitoring_bridge.errors import RecordError

MAX_LINE = 64 * 1024  # a record is a few hundred bytes; anything past this is garbage or an attack
LINE = "_line"


@dataclass(frozen=True)
class Oversized:
    """A line longer than the limit: its bytes are not kept, only its SHA-256.

    The digest tells one oversized line from another, so each gets its own
    quarantine row (they used to share the MAC of empty bytes, and every one
    after the first was taken for a duplicate and silently dropped), while the
    same line imported again is still recognised. It is never stored: the
    importer keys it with the bridge key first.
    """

    digest: bytes


def read_lines(fh: IO[bytes], max_line: int = MAX_LINE) -> Iterator[tuple[int, bytes | Oversized]]:
    """Yield ``(position after the line, raw line)``; an oversized line yields an :class:`Oversized`.

    Lines end at LF only (a bare CR is JSON whitespace, not a line break) and
    hold at most ``max_line`` bytes before their LF. Files and HTTP batches
    are both split here, so the two ways in agree on both rules. The position
    is the byte offset at which the next line starts, which is what an import
    records to resume from.
    """
    position = fh.tell()
    while True:
        line = fh.readline(max_line + 1)
        if not line:
            return
        position += len(line)
        if len(line) > max_line and not line.endswith(b"\n"):
            # Skip the rest of the line without holding it, hashing it on the way.
            digest = hashlib.sha256(line)
            while True:
                more = fh.readline(max_line)
                position += len(more)
                digest.update(more)
                if not more or more.endswith(b"\n"):
                    break
            yield position, Oversized(digest.digest())
            continue
        yield position, line


def decode_json(raw: bytes) -> dict[str, Any]:
    """One JSON Lines record: a UTF-8 JSON object.

    Every way ``json.loads`` can fail on hostile input is a RecordError, so one
    bad line is quarantined instead of aborting (and, on resume, re-aborting) the import.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(LINE, f"not valid UTF-8 at byte {exc.start}") from None
    text = text.strip()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text) or exc.msg.startswith("Unterminated string"):
            raise RecordError(LINE, "truncated record (JSON ends early)") from None
        raise RecordError(LINE, f"malformed JSON at column {exc.colno}: {exc.msg}") from None
    except ValueError:
        # Not a JSONDecodeError: an integer longer than Python's int-conversion limit (4,300 digits).
        raise RecordError(LINE, "malformed JSON: a number has too many digits") from None
    except RecursionError:
        # Arrays or objects nested thousands deep exhaust the parser's stack.
        raise RecordError(LINE, "malformed JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise RecordError(LINE, "a record must be a JSON object")
    return obj


def csv_header(raw: bytes, fields: tuple[str, ...]) -> list[str]:
    """The column names of a CSV header line; every one must be a field of the adapter."""
    try:
        names = next(csv.reader([raw.decode("utf-8-sig")]))
    except (UnicodeDecodeError, StopIteration, csv.Error):
        raise RecordError(LINE, "unreadable CSV header") from None
    names = [n.strip() for n in names]
    unknown = [n for n in names if n not in fields]
    if unknown or len(set(names)) != len(names):
        raise RecordError(LINE, "CSV header must name each of the source's fields at most once")
    return names


def decode_csv(raw: bytes, header: list[str]) -> dict[str, Any]:
    """One CSV line under its header; empty cells are left out (absent)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(LINE, f"not valid UTF-8 at byte {exc.start}") from None
    try:
        rows = list(csv.reader([text.rstrip("\r\n")], strict=True))
    except csv.Error:
        raise RecordError(LINE, "malformed CSV (unbalanced quotes: truncated record?)") from None
    cells = rows[0] if rows else []
    if len(cells) != len(header):
        raise RecordError(LINE, f"expected {len(header)} columns, found {len(cells)} (truncated record?)")
    return {name: value for name, value in zip(header, cells, strict=True) if value != ""}
