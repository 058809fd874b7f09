"""`flask backup create OUT` / `flask backup restore IN`: the operator's side of app.backup.

The passphrase comes from ``--passphrase-file`` or a hidden prompt, never
from the command line: argv is visible to every user of the machine
(``ps``) and lands in shell history.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.backup import service
from app.backup.errors import BackupError
from app.db import get_engine
from app.runtime import get_blobs, get_settings

backup_cli = AppGroup("backup", help="Encrypted backups of the database, blobs and instance secrets.")

MIN_PASSPHRASE_CHARS = 12

_passphrase_file = click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the passphrase from this file (first line) instead of prompting.",
)


def _passphrase(path: Path | None, confirm: bool) -> str:
    if path is not None:
        return service.read_passphrase_file(path)
    value: str = click.prompt("Backup passphrase", hide_input=True, confirmation_prompt=confirm)
    return value


@backup_cli.command("create")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@_passphrase_file
def create(out: Path, passphrase_file: Path | None) -> None:
    """Write an encrypted backup of this instance to OUT (never overwrites)."""
    passphrase = _passphrase(passphrase_file, confirm=True)
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise click.ClickException(f"the passphrase needs at least {MIN_PASSPHRASE_CHARS} characters")
    settings = get_settings()
    try:
        summary = service.create_backup(
            get_engine(), get_blobs(), settings.instance_path, out, passphrase, settings.argon2
        )
    except (BackupError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup written to {out}: revision {summary.revision}, {summary.rows} rows, {summary.blobs} files")


@backup_cli.command("restore")
@click.argument("source", metavar="IN", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_passphrase_file
def restore(source: Path, passphrase_file: Path | None) -> None:
    """Restore a backup into this instance's empty, migrated database; then restart the app."""
    passphrase = _passphrase(passphrase_file, confirm=False)
    settings = get_settings()
    try:
        with source.open("rb") as fh:
            summary = service.restore_backup(get_engine(), get_blobs(), settings.instance_path, fh, passphrase)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"restored revision {summary.revision}: {summary.rows} rows, {summary.blobs} files, "
        f"{summary.secrets} instance secrets; restart every worker so they load the restored secrets"
    )
