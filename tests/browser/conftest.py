"""Browser journeys: the real app served by gunicorn, driven by Playwright in Debian's Chromium.

Every test here is marked ``browser``. They are skipped, with the reason in the
pytest summary, when Playwright or Chromium is missing (``make browser-packages``
installs Chromium; Playwright's own browser download is not used). Chromium is
found at ``$HAECHI_CHROMIUM`` or ``/usr/bin/chromium``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CHROMIUM = Path(os.environ.get("HAECHI_CHROMIUM") or "/usr/bin/chromium")


def _missing() -> str | None:
    """Why the browser journeys cannot run here, or None when they can."""
    try:
        import axe_playwright_python  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"browser tests need Playwright and axe-core ({exc.name} not installed: pip install -e '.[dev]')"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"browser tests need Chromium at {CHROMIUM} (run `make browser-packages`, or set HAECHI_CHROMIUM)"
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the served app in headless Chromium (make test-browser)")


@pytest.hookimpl(tryfirst=True)  # before `-m browser` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item, so the journey fixture knows whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory):
    """The app as an operator runs it: CLI-migrated and seeded instance, served by gunicorn on a free port."""
    from .live import serve

    folder = tmp_path_factory.mktemp("browser")
    with serve(folder / "instance", folder / "server.log") as live:
        yield live


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium, launched by its path."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe_audit(browser):
    """One axe-core audit for the run; its findings are written to build/browser/axe-report.json."""
    from .journey import AxeAudit, write_axe_report

    audit = AxeAudit(browser)
    yield audit
    write_axe_report(audit)
    audit.context.close()


@pytest.fixture(scope="session")
def staff_contexts(browser):
    """Each officer's browser, kept for the run: one sign-in each (a TOTP code is accepted once)."""
    contexts: dict = {}
    yield contexts
    for context, _locale in contexts.values():
        context.close()


@pytest.fixture
def journey(request: pytest.FixtureRequest, live_app, browser, staff_contexts, axe_audit):
    """One journey; on failure its step screenshots are written to build/browser/<test name>/."""
    from .journey import Journey, Steps

    steps = Steps(request.node.name)
    story = Journey(live_app, browser, staff_contexts, axe_audit, steps)
    yield story
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        folder = steps.save()
        print(f"\nscreenshots of each step: {folder}\nserver log: {live_app.log}")
    story.close()
