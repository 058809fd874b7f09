"""`flask bridge …`: import files, manage the quarantine, add sources (DESIGN.md section 7, bridge)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app import bridge_quarantine as quarantine
from app.db import get_session
from app.models.bridge import BridgeSource, SourceKind
from app.runtime import get_secrets, get_settings
from app.web.converters import MAX_ROW_ID
from monitoring_bridge import keyring, registry
from monitoring_bridge.errors import BridgeError
from monitoring_bridge.importer import import_file

# A quarantined record's id: past what the column holds the database driver failed (a traceback).
QID = click.IntRange(1, MAX_ROW_ID)

bridge_cli = AppGroup("bridge", help="The monitoring bridge: imports, quarantine, sources.")
quarantine_cli = AppGroup("quarantine", help="Records that failed validation.")
source_cli = AppGroup("source", help="Configured bridge sources.")
bridge_cli.add_command(quarantine_cli)
bridge_cli.add_command(source_cli)


@bridge_cli.command("import")
@click.argument("source")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default=None, help="Default: by suffix.")
def import_cmd(source: str, file: Path, fmt: str | None) -> None:
    """Import a JSON Lines or CSV file; an interrupted import of the same file resumes."""
    size = os.path.getsize(file)
    try:
        with click.progressbar(length=size, label=f"importing {file.name}", show_eta=True) as bar:
            summary = import_file(
                get_session(), get_settings(), source, file, bar.update, fmt=fmt, bridge_key=get_secrets().bridge_key
            )
    except BridgeError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
    click.echo(summary.line())


@quarantine_cli.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include resolved records.")
@click.option("--source", default=None, help="Only this source's records.")
def quarantine_list(show_all: bool, source: str | None) -> None:
    """Quarantined records: id, source, import, position, when, error (never the raw content)."""
    rows = quarantine.list_records(get_session(), source=source, include_resolved=show_all)
    for q in rows:
        state = "" if q.resolved_at is None else " [resolved]"
        error = f"{q.field}: {q.reason}" if q.field else q.reason
        where = f"import {q.import_id}\tbyte {q.position}\t{q.received_at:%Y-%m-%d %H:%M}"
        click.echo(f"{q.id}\t{q.source}\t{where}\t{error}{state}")
    click.echo(f"{len(rows)} record(s)")


@quarantine_cli.command("retry")
@click.argument("qid", type=QID)
def quarantine_retry(qid: int) -> None:
    """Run a quarantined record through validation again (after fixing what it lacked)."""
    try:
        outcome = quarantine.retry(get_session(), get_settings(), qid, bridge_key=get_secrets().bridge_key)
    except quarantine.NotOpen:
        raise click.ClickException(f"no open quarantined record {qid}") from None
    except quarantine.NothingKept:
        raise click.ClickException(f"record {qid} kept no bytes (too long); discard it") from None
    except BridgeError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
    if not outcome.imported:
        raise click.ClickException(f"still invalid: {outcome.error or '?'}")
    click.echo(f"record {qid} imported: {outcome.summary.line()}")


@quarantine_cli.command("discard")
@click.argument("qid", type=QID)
def quarantine_discard(qid: int) -> None:
    """Resolve a quarantined record without importing it; its raw bytes are erased."""
    try:
        quarantine.discard(get_session(), qid)
    except quarantine.NotOpen:
        raise click.ClickException(f"no open quarantined record {qid}") from None
    click.echo(f"record {qid} discarded")


@source_cli.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice([k.value for k in SourceKind]), required=True)
@click.option("--adapter", default=None, help="Registry name of the adapter (default: the kind).")
def source_add(name: str, kind: str, adapter: str | None) -> None:
    """Create a source and print its request-signing key once (it is stored only encrypted)."""
    adapter = adapter or kind
    if adapter not in registry.ADAPTERS:
        raise click.ClickException(f"no adapter {adapter!r}; known: {', '.join(sorted(registry.ADAPTERS))}")
    db = get_session()
    if db.scalar(select(BridgeSource.id).where(BridgeSource.name == name)) is not None:
        raise click.ClickException(f"source {name!r} exists")
    key = keyring.new_hmac_key()
    db.add(
        BridgeSource(
            name=name,
            kind=kind,
            adapter=adapter,
            active=True,
            hmac_key_ct=keyring.wrap_hmac_key(get_secrets().bridge_key, name, key),
        )
    )
    db.commit()
    click.echo(f"source {name} added; its signing key (shown once, keep it in the feed's secret store):")
    click.echo(key.hex())


SAMPLES = Path(__file__).resolve().parent.parent / "monitoring_bridge" / "samples"


@bridge_cli.command("demo")
def demo() -> None:
    """Load the sample files of every source (creating missing sources); re-running changes nothing."""
    db = get_session()
    for path in sorted(SAMPLES.glob("*.*")):
        name = path.stem
        if name not in registry.ADAPTERS:
            continue
        if db.scalar(select(BridgeSource.id).where(BridgeSource.name == name)) is None:
            db.add(
                BridgeSource(
                    name=name,
                    kind=SourceKind(name).value,
                    adapter=name,
                    active=True,
                    hmac_key_ct=keyring.wrap_hmac_key(get_secrets().bridge_key, name, keyring.new_hmac_key()),
                )
            )
            db.commit()
        try:
            summary = import_file(db, get_settings(), name, path, None, bridge_key=get_secrets().bridge_key)
        except BridgeError as exc:
            raise click.ClickException(f"{name}: {type(exc).__name__}: {exc}") from None
        click.echo(f"{name}: {summary.line()}")
