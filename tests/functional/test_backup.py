"""`flask backup create|restore`: a case survives into a fresh instance, and bad backups are refused."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from app.db import get_session
from app.models.cases import Case
from app.schema import upgrade
from tests.conftest import BACKEND, postgres_schema
from tests.functional.conftest import ReporterAuth

PASSPHRASE = "a long backup passphrase 해치"
EVIDENCE = b"%PDF-1.4 the ledger with the cash column " * 2000  # several stream chunks
REPORT_TEXT = "The head of the permits desk asked for cash before approving a licence."


@pytest.fixture
def passphrase_file(tmp_path: Path) -> Path:
    path = tmp_path / "passphrase"
    path.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return path


@contextlib.contextmanager
def fresh_database(tmp_path: Path, backend: str) -> Iterator[str]:
    """A new, migrated, empty database on ``backend``."""
    if backend == "postgresql":
        with postgres_schema("haechi_restore") as url:
            upgrade(url)
            yield url
    else:
        url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        upgrade(url)
        yield url


def backup(app, out: Path, passphrase_file: Path):
    return app.test_cli_runner().invoke(args=["backup", "create", str(out), "--passphrase-file", str(passphrase_file)])


def restore(app, source: Path, passphrase_file: Path):
    return app.test_cli_runner().invoke(
        args=["backup", "restore", str(source), "--passphrase-file", str(passphrase_file)]
    )


@pytest.fixture
def backed_up(app, office, reporter, tmp_path, passphrase_file):
    """A case with a file, submitted through the reporter flow, then backed up."""
    receipt = reporter.submit_ok(files=[(io.BytesIO(EVIDENCE), "ledger.pdf")])
    out = tmp_path / "haechi.backup"
    r = backup(app, out, passphrase_file)
    assert r.exit_code == 0, r.output
    return receipt, out


def restored_app(test_settings, tmp_path: Path, url: str, source: Path, passphrase_file: Path):
    """Restore ``source`` into a fresh instance folder and database; return the app as restarted after it."""
    settings = test_settings.with_(instance_path=tmp_path / "fresh-instance", database_url=url)
    first = create_app(settings)  # a fresh start: new random secrets, empty database
    r = restore(first, source, passphrase_file)
    first.extensions["haechi.engine"].dispose()
    assert r.exit_code == 0, r.output
    return create_app(settings)  # restarted: loads the restored secrets


def open_case_and_read(app, receipt: str) -> None:
    reporter = ReporterAuth(app.test_client()).english()
    r = reporter.login(receipt)
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    html = reporter.client.get("/receipt/inbox").get_data(as_text=True)
    assert REPORT_TEXT in html and "ledger.pdf" in html
    import re

    file_id = re.search(r"/receipt/files/(\d+)", html).group(1)
    download = reporter.client.get(f"/receipt/files/{file_id}")
    assert download.status_code == 200 and download.get_data() == EVIDENCE


def test_a_restored_instance_opens_the_case_with_its_receipt(backed_up, test_settings, tmp_path, passphrase_file):
    receipt, out = backed_up
    assert REPORT_TEXT.encode() not in out.read_bytes() and b"ledger" not in out.read_bytes()
    with fresh_database(tmp_path, BACKEND) as url:
        app2 = restored_app(test_settings, tmp_path, url, out, passphrase_file)
        try:
            open_case_and_read(app2, receipt)
            with app2.app_context():
                assert get_session().query(Case).count() == 1
        finally:
            app2.extensions["haechi.engine"].dispose()


def test_a_backup_moves_between_sqlite_and_postgresql(backed_up, test_settings, tmp_path, passphrase_file):
    receipt, out = backed_up
    other = "sqlite" if BACKEND == "postgresql" else "postgresql"
    with fresh_database(tmp_path, other) as url:
        app2 = restored_app(test_settings, tmp_path, url, out, passphrase_file)
        try:
            open_case_and_read(app2, receipt)
        finally:
            app2.extensions["haechi.engine"].dispose()


def test_new_rows_after_a_postgresql_restore_get_fresh_ids(backed_up, test_settings, tmp_path, passphrase_file):
    _receipt, out = backed_up
    with fresh_database(tmp_path, "postgresql") as url:
        app2 = restored_app(test_settings, tmp_path, url, out, passphrase_file)
        try:
            ReporterAuth(app2.test_client()).english().submit_ok()  # would hit a duplicate id without setval
            with app2.app_context():
                assert get_session().query(Case).count() == 2
        finally:
            app2.extensions["haechi.engine"].dispose()


def _refused(test_settings, tmp_path, source: Path, passphrase_file: Path, url: str) -> tuple[str, Path]:
    settings = test_settings.with_(instance_path=tmp_path / "fresh-instance", database_url=url)
    app2 = create_app(settings)
    secrets_before = {p.name: p.read_bytes() for p in (settings.instance_path / "secrets").iterdir()}
    try:
        r = restore(app2, source, passphrase_file)
        with app2.app_context():
            assert get_session().query(Case).count() == 0 or "already has rows" in r.output
    finally:
        app2.extensions["haechi.engine"].dispose()
    assert r.exit_code == 1 and "Traceback" not in r.output, r.output
    # Nothing was restored: the fresh instance keeps its own secrets and no blob appeared.
    assert {p.name: p.read_bytes() for p in (settings.instance_path / "secrets").iterdir()} == secrets_before
    assert not [p for p in (settings.instance_path / "blobs").rglob("*") if p.is_file()]
    return r.output, settings.instance_path


def test_a_wrong_passphrase_is_refused(backed_up, test_settings, tmp_path):
    _receipt, out = backed_up
    wrong = tmp_path / "wrong"
    wrong.write_text("not the backup passphrase")
    with fresh_database(tmp_path, BACKEND) as url:
        output, _ = _refused(test_settings, tmp_path, out, wrong, url)
    assert "wrong passphrase" in output


@pytest.mark.parametrize("damage", ["truncate_half", "truncate_last_byte", "flip_body", "flip_header"])
def test_a_damaged_backup_is_refused_and_leaves_nothing(backed_up, test_settings, tmp_path, passphrase_file, damage):
    _receipt, out = backed_up
    data = bytearray(out.read_bytes())
    if damage == "truncate_half":
        data = data[: len(data) // 2]
    elif damage == "truncate_last_byte":
        data = data[:-1]
    elif damage == "flip_body":
        data[len(data) * 3 // 4] ^= 0x01  # in the blobs or secrets, after many rows were inserted
    else:
        data[10] ^= 0x01  # inside the wrapped key's Argon2id salt
    bad = tmp_path / "damaged.backup"
    bad.write_bytes(bytes(data))
    with fresh_database(tmp_path, BACKEND) as url:
        output, _ = _refused(test_settings, tmp_path, bad, passphrase_file, url)
    assert "damaged" in output or "truncated" in output or "wrong passphrase" in output


def test_a_non_empty_database_is_refused(backed_up, app, test_settings, tmp_path, passphrase_file):
    _receipt, out = backed_up
    r = restore(app, out, passphrase_file)  # the original instance, which holds the case
    assert r.exit_code == 1 and "already has rows" in r.output


def test_a_database_at_another_revision_is_refused(backed_up, test_settings, tmp_path, passphrase_file):
    _receipt, out = backed_up
    with fresh_database(tmp_path, BACKEND) as url:
        from app.schema import downgrade

        downgrade(url, "-1")
        output, _ = _refused(test_settings, tmp_path, out, passphrase_file, url)
    assert "revision" in output


def test_the_passphrase_is_never_an_argument_and_must_be_long(app, tmp_path):
    short = tmp_path / "short"
    short.write_text("short")
    r = backup(app, tmp_path / "x.backup", short)
    assert r.exit_code == 1 and "at least 12" in r.output and not (tmp_path / "x.backup").exists()
    r = app.test_cli_runner().invoke(args=["backup", "create", str(tmp_path / "y.backup"), "--passphrase", "x" * 20])
    assert r.exit_code == 2


def test_the_passphrase_prompt_asks_twice(app, tmp_path):
    out = tmp_path / "prompted.backup"
    r = app.test_cli_runner().invoke(args=["backup", "create", str(out)], input=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    assert r.exit_code == 0, r.output
    assert out.exists() and os.stat(out).st_mode & 0o077 == 0


def test_a_backup_never_overwrites_and_leaves_no_part_file(backed_up, app, passphrase_file):
    _receipt, out = backed_up
    before = out.read_bytes()
    r = backup(app, out, passphrase_file)
    assert r.exit_code == 1 and out.read_bytes() == before
    assert not out.with_name(out.name + ".part").exists()


def test_the_snapshot_reads_every_table_in_one_transaction(app, monkeypatch, tmp_path, passphrase_file):
    """A row committed by another connection while the dump runs is not in the backup."""
    from app.backup import service

    engine = app.extensions["haechi.engine"]
    original = service._write_blob
    seen: list[int] = []
    real_record = service.ArchiveWriter.record

    def record(self, tag, payload):
        if tag == service.TABLE and b'"name":"departments"' in bytes(payload) and not seen:
            seen.append(1)
            with engine.begin() as other:  # a concurrent writer, mid-dump
                other.execute(
                    sa.text(
                        "INSERT INTO departments (code, name_ko, name_en, active) VALUES ('LATE', '늦음', 'Late', true)"
                    )
                )
        return real_record(self, tag, payload)

    monkeypatch.setattr(service.ArchiveWriter, "record", record)
    monkeypatch.setattr(service, "_write_blob", original)
    r = backup(app, tmp_path / "snap.backup", passphrase_file)
    assert r.exit_code == 0 and seen, r.output
    assert "0 rows" in r.output  # the department committed mid-dump is not in the snapshot


def test_a_case_in_the_database_blob_store_moves_to_a_folder_store(test_settings, office, tmp_path, passphrase_file):
    """Reporter flow on HAECHI_BLOB_STORE=database, then a backup restored onto a folder store."""
    settings = test_settings.with_(blob_store="database")
    db_app = create_app(settings)
    try:
        receipt = ReporterAuth(db_app.test_client()).english().submit_ok(files=[(io.BytesIO(EVIDENCE), "ledger.pdf")])
        assert not [p for p in (settings.instance_path / "blobs").rglob("*") if p.is_file()]
        open_case_and_read(db_app, receipt)
        out = tmp_path / "db-store.backup"
        assert backup(db_app, out, passphrase_file).exit_code == 0
    finally:
        db_app.extensions["haechi.engine"].dispose()
    with fresh_database(tmp_path, BACKEND) as url:
        app2 = restored_app(test_settings, tmp_path, url, out, passphrase_file)
        try:
            open_case_and_read(app2, receipt)
            with app2.app_context():
                assert get_session().execute(sa.text("SELECT count(*) FROM blob_objects")).scalar() == 0
        finally:
            app2.extensions["haechi.engine"].dispose()
