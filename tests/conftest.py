"""Suite-wide fixtures: hypothesis profiles, test settings, the app on SQLite or PostgreSQL.

Database tests run on SQLite always. ``make test`` runs the suite a second
time with ``HAECHI_TEST_DB=postgresql`` when PostgreSQL answers (marker
``db`` selects the tests that touch a database); each such run works in a
schema of its own, dropped at the end, so parallel runs never collide.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKEND = os.environ.get("HAECHI_TEST_DB", "sqlite")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a database, so the PostgreSQL run can select them."""
    for item in items:
        if "database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "db: touches a database (run again on PostgreSQL)")


def postgres_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or PG_DEFAULT


def postgres_available() -> bool:
    """True when a PostgreSQL server answers at the test URL."""
    try:
        engine = sa.create_engine(postgres_url(), connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def postgres_schema(prefix: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema of its own, dropped afterwards.

    Skips the calling test when PostgreSQL does not answer.
    """
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable")
    schema = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    admin = sa.create_engine(postgres_url())
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    base = postgres_url()
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """One schema for the whole PostgreSQL run; tests truncate it between them."""
    with postgres_schema("haechi_test") as url:
        yield url


def _create_schema(url: str) -> None:
    """Build the schema the way production does: Alembic migrations, never create_all."""
    from app.schema import upgrade

    upgrade(url)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    _create_schema(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A clean database for one test: a copy of a migrated SQLite file, or a truncated PG schema."""
    if BACKEND == "postgresql":
        url = request.getfixturevalue("pg_schema_url")
        from app.db import Base, make_engine
        from app.schema import upgrade

        upgrade(url)  # a no-op once the run's schema is at head
        engine = make_engine(url)
        yield url
        with engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            if names:
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        engine.dispose()
    else:
        template = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "haechi.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def test_settings(tmp_path: Path, database_url: str):
    """Settings for one test: its own instance folder and database, cheap Argon2id."""
    from config import Settings
    from crypto.kdf import Argon2Params

    return Settings(
        instance_path=tmp_path / "instance",
        database_url=database_url,
        testing=True,
        argon2=Argon2Params(memory_kib=64, iterations=1, lanes=1),
        form_min_seconds=0,  # tests send forms at once; the dwell time has tests of its own
    )


@pytest.fixture
def app(test_settings):
    from app import create_app

    application = create_app(test_settings)
    yield application
    application.extensions["haechi.engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db_session(app):
    """A session bound to the app's engine, inside an app context."""
    with app.app_context():
        from app.db import get_session

        yield get_session()
