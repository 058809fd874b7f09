"""Backup and restore (`flask backup create|restore`): one encrypted file holds a whole instance.

The file format is in :mod:`app.backup.archive` and ``app/backup/README.md``;
what goes in and how a restore stays all-or-nothing is in
:mod:`app.backup.service`.
"""
