"""The embedded database runs with WAL and enforced foreign keys."""

from __future__ import annotations

import sqlalchemy as sa

from app.db import make_engine


def test_sqlite_uses_wal_and_enforces_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        conn.execute(sa.text("CREATE TABLE p (id INTEGER PRIMARY KEY)"))
        conn.execute(sa.text("CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id))"))
        try:
            conn.execute(sa.text("INSERT INTO c (id, p_id) VALUES (1, 42)"))
        except sa.exc.IntegrityError:
            pass
        else:
            raise AssertionError("a dangling foreign key was accepted")
    engine.dispose()
