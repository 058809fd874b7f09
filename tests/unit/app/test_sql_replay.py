"""A replayed statement sends SQLAlchemy's own SQL again through the driver: fresh rows, no SQLAlchemy round."""

from __future__ import annotations

from sqlalchemy import Integer, bindparam, event, select

from app.models import Department
from app.sql_replay import StatementReplay

# An integer rendered into the SQL (as the queue's are) and a text parameter.
STATEMENT = (
    select(Department.code, Department.name_en)
    .where(
        Department.id >= bindparam("first", type_=Integer, literal_execute=True), Department.code != bindparam("not")
    )
    .order_by(Department.id)
)


def add(db, code: str) -> None:
    db.add(Department(code=code, name_ko=code, name_en=f"{code} en"))
    db.flush()


class Watch:
    """What SQLAlchemy itself sent to the driver while watching."""

    def __init__(self, engine) -> None:
        self.engine, self.sent = engine, []

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self.sent

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.sent.append(statement)


def test_a_replay_reads_the_rows_anew_without_sqlalchemy_sending_anything(db_session):
    replay = StatementReplay()
    conn = db_session.connection()
    add(db_session, "A")
    with Watch(db_session.get_bind()) as sent:
        first = replay.rows(conn, STATEMENT, {"first": 1, "not": "Z"})
        add(db_session, "B")  # not committed: the replay runs in the session's transaction
        again = replay.rows(conn, STATEMENT, {"first": 1, "not": "Z"})
    assert [tuple(r) for r in first] == [("A", "A en")]
    assert [tuple(r) for r in again] == [("A", "A en"), ("B", "B en")]
    assert len([s for s in sent if s.startswith("SELECT")]) == 1  # the second run went past SQLAlchemy


def test_other_values_are_other_statements(db_session):
    replay = StatementReplay()
    conn = db_session.connection()
    for code in ("A", "B", "C"):
        add(db_session, code)
    assert [r[0] for r in replay.rows(conn, STATEMENT, {"first": 1, "not": "B"})] == ["A", "C"]
    assert [r[0] for r in replay.rows(conn, STATEMENT, {"first": 1, "not": "C"})] == ["A", "B"]
    ids = sorted(db_session.scalars(select(Department.id)))
    assert [r[0] for r in replay.rows(conn, STATEMENT, {"first": ids[1], "not": "B"})] == ["C"]
    assert [r[0] for r in replay.rows(conn, STATEMENT, {"first": 1, "not": "B"})] == ["A", "C"]  # a replay
    assert len(replay) == 3


def test_the_replay_keeps_only_the_most_recently_used_statements(db_session):
    replay = StatementReplay(maxsize=2)
    conn = db_session.connection()
    add(db_session, "A")
    for code in ("X", "Y", "Z"):
        replay.rows(conn, STATEMENT, {"first": 1, "not": code})
    assert len(replay) == 2
    replay.clear()
    assert len(replay) == 0


def test_values_equal_in_python_but_of_other_types_are_other_statements(db_session):
    """``1``, ``True`` and ``1.0`` compare equal; each is still sent as SQLAlchemy sent it, not as the first one."""
    replay = StatementReplay()
    conn = db_session.connection()
    statement = select(bindparam("x"))
    sent = [replay.rows(conn, statement, {"x": value})[0][0] for value in (1, True, 1.0, 1)]
    assert [type(v) for v in sent[:3]] != [int, int, int]
    assert len(replay) == 3
    assert sent[3] == 1 and type(sent[3]) is int


def test_the_replay_drops_the_least_recently_used_statement_first(db_session):
    replay = StatementReplay(maxsize=2)
    conn = db_session.connection()
    add(db_session, "A")
    for code in ("X", "Y", "X", "Z"):  # X is used again before Z arrives: Y goes
        replay.rows(conn, STATEMENT, {"first": 1, "not": code})
    kept = {dict(key[2])["not"][1] for key in replay._entries}
    assert kept == {"X", "Z"}
