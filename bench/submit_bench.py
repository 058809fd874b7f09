"""submit.report (issue 10): one anonymous report with a 1 MiB file, end to end through the app.

Ours is what a reporter's browser costs the server: ``GET /report`` (the form,
its CSRF token and form ticket) and the multipart ``POST /report`` through the
Flask test client — CSRF and ticket checks, rate limit, the file streamed into
an encrypted blob, the receipt derived with Argon2id at the production
parameters, the case key sealed to the teams and the recovery key, the
encrypted fields and the commit. The baseline is the unavoidable core of the
same work, in the same run: one receipt derivation at the same Argon2id
parameters plus a raw ``crypto.stream`` encryption of the same bytes. The
gap between them is the web layer, the sealing and the database.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from bench.harness import Result, backend_label, interleaved_medians, scratch_database
from crypto import receipts, stream
from crypto.kdf import DEFAULT_PARAMS
from load.client import hidden_value

MIB = 1024 * 1024
FIELDS = {
    "category": "bribery",
    "department_id": "",
    "what": "The head of the permits desk asked for cash before approving a licence (benchmark).",
    "when_where": "March, at the permits desk on the 3rd floor",
    "who": "The head of the permits desk",
    "amount": "1,500,000",
    "how_known": "documents",
    "public_officer": "no",
}
_RECEIPT = re.compile(r'class="receipt"[^>]*><strong>([0-9-]+)</strong>')


def submit_once(client: Any, data: bytes) -> str:
    """Fetch the form, send a report with ``data`` as its file; return the receipt shown."""
    page = client.get("/report").get_data(as_text=True)
    values: MultiDict[str, Any] = MultiDict(
        [*FIELDS.items(), ("csrf_token", hidden_value(page, "csrf_token")), ("ticket", hidden_value(page, "ticket"))]
    )
    values.add("files", FileStorage(io.BytesIO(data), filename="ledger.bin", content_type="application/octet-stream"))
    boundary, body = encode_multipart(values)
    r = client.post("/report", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    m = _RECEIPT.search(r.get_data(as_text=True))
    if r.status_code != 200 or m is None:
        raise AssertionError(f"submission refused: {r.status_code}")
    return m.group(1)


def bench_submit(db: str = "sqlite") -> list[Result]:
    """One report with a 1 MiB file through the app, against receipt derivation + raw stream encryption."""
    from app import create_app
    from app.schema import upgrade
    from config import Settings

    data = os.urandom(MIB)
    with tempfile.TemporaryDirectory(prefix="haechi-submit-bench-") as tmp, scratch_database(db, Path(tmp)) as url:
        upgrade(url)
        settings = Settings(
            instance_path=Path(tmp) / "instance",
            database_url=url,
            testing=True,  # only so the test client may post without HTTPS; Argon2id stays at production cost
            argon2=DEFAULT_PARAMS,
            form_min_seconds=0,  # the dwell time is an anti-bot pause, not server work
            submit_rate="100000/minute",
        )
        app = create_app(settings)
        try:
            seeded = app.test_cli_runner().invoke(args=["demo", "seed"])
            if seeded.exit_code != 0:
                raise RuntimeError(f"demo seed failed: {seeded.output}")
            client = app.test_client()
            salt, case_key = os.urandom(32), os.urandom(32)

            def ours() -> None:
                submit_once(client, data)

            def raw() -> None:
                receipts.derive_receipt_keys(receipts.generate_receipt(), salt, DEFAULT_PARAMS)
                stream.encrypt_bytes(case_key, data, b"bench")

            t_ours, t_raw = interleaved_medians(ours, raw, runs=7)
        finally:
            app.extensions["haechi.engine"].dispose()
    return [
        Result(
            name="submit.report",
            value=round(t_ours * 1000, 1),
            unit="ms",
            baseline=round(t_raw * 1000, 1),
            ratio=round(t_raw / t_ours, 3),
            note=f"{backend_label(url)}; GET /report + multipart POST /report with one 1 MiB file through the "
            f"Flask test client (CSRF, form ticket, rate limit, encrypted blob, case key sealed to intake, "
            f"protection and recovery, encrypted fields, commit); baseline: one receipt derivation (Argon2id "
            f"{DEFAULT_PARAMS.memory_kib // 1024} MiB, {DEFAULT_PARAMS.iterations} passes) + crypto.stream "
            "encryption of the same 1 MiB; median of 7 interleaved",
        )
    ]


BENCHMARKS = [bench_submit]
