"""Actors, steps, screenshots and the axe-core audit shared by the browser journeys.

Every page an actor reaches is a *step*: it is screenshotted (kept in memory,
written under ``build/browser/`` only when the journey fails) and audited by
axe-core against WCAG 2.1 A/AA and axe's best practices.

How axe runs without weakening what is tested: the page the actor sees is
served with the real Content-Security-Policy (no inline script, nothing from
outside) and, for reporters, with JavaScript disabled, so axe cannot run in
it. Instead the audit copies the page's DOM and replays it at the same URL in
a separate JavaScript-enabled context opened with ``bypass_csp=True``; the
stylesheet and images still come from the live server, so contrast and layout
are the real ones. axe-core is injected there from the local file shipped in
the ``axe-playwright-python`` wheel (MPL-2.0); nothing is fetched from the network.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.resources
import json
import re
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from .live import ROOT, Credentials, LiveApp

ARTIFACTS = ROOT / "build" / "browser"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING_IMPACTS = {"serious", "critical"}
# The reporter forms refuse a post sooner than this after the page was served
# (config.Settings.form_min_seconds, a bot check); a person always takes longer.
FORM_DWELL_SECONDS = 3.3
# Ids that a <label for> or an aria-labelledby/-describedby points to but that more
# than one element carries: the browser resolves the reference to the first one,
# so the second control is announced with no name or with another field's error.
SHARED_REFERENCED_IDS = """() => {
  const refs = new Set();
  document.querySelectorAll('label[for]').forEach(l => refs.add(l.htmlFor));
  document.querySelectorAll('[aria-labelledby],[aria-describedby]').forEach(e => {
    for (const a of ['aria-labelledby', 'aria-describedby'])
      (e.getAttribute(a) || '').split(/\\s+/).filter(Boolean).forEach(i => refs.add(i));
  });
  return [...refs].filter(i => document.querySelectorAll('[id="' + CSS.escape(i) + '"]').length > 1);
}"""
HIDDEN_VALUES = re.compile(r'(<input[^>]*type="hidden"[^>]*value=")[^"]*')
RECEIPT_RE = re.compile(r"^\d{4}(-\d{4}){4,}$")  # at least 64 bits: five or more groups of four digits


def axe_script() -> Path:
    """axe-core's minified build as the ``axe-playwright-python`` wheel ships it (no download)."""
    return Path(str(importlib.resources.files("axe_playwright_python").joinpath("axe.min.js")))


@cache
def _catalog(locale: str) -> dict[str, str]:
    with (ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    return {str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.id, str) and m.string}


def tr(msgid: str, locale: str) -> str:
    """What the interface shows for ``msgid`` in ``locale`` (a missing Korean entry fails the lookup)."""
    if locale == "en":
        return msgid
    text = _catalog(locale).get(msgid)
    assert text, f"no {locale} translation for {msgid!r}"
    return text


@dataclass
class AxeFinding:
    """One page's axe violations, kept for the report written at the end of the run."""

    step: str
    url: str
    lang: str
    violations: list[dict[str, Any]]

    @property
    def blocking(self) -> list[dict[str, Any]]:
        return [v for v in self.violations if v.get("impact") in BLOCKING_IMPACTS]


class AxeAudit:
    """Runs axe-core on copies of the pages the journeys visit (see the module docstring)."""

    def __init__(self, browser: Browser) -> None:
        self.context = browser.new_context(bypass_csp=True, java_script_enabled=True)
        self.script = axe_script()
        self.findings: list[AxeFinding] = []
        self._seen: dict[str, AxeFinding] = {}

    def check(self, page: Page, step: str) -> AxeFinding:
        html, url = page.content(), page.url.split("#", 1)[0]
        # A page identical to one already audited (but for its CSRF token and form
        # ticket) gets the same result; the journeys pass the same forms many times.
        key = hashlib.sha256((url + HIDDEN_VALUES.sub(r"\1", html)).encode()).hexdigest()
        if key in self._seen:
            return self._seen[key]
        copy = self.context.new_page()
        try:
            copy.route(
                lambda u: u.split("#", 1)[0] == url,
                lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html),
            )
            copy.goto(url, wait_until="load")
            copy.add_script_tag(path=str(self.script))
            result = copy.evaluate(
                "opts => axe.run(document, opts)",
                {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
            )
            lang = copy.evaluate("document.documentElement.lang")
            shared = copy.evaluate(SHARED_REFERENCED_IDS)
        finally:
            copy.close()
        violations = list(result["violations"])
        if shared:
            violations.append(
                {
                    "id": "haechi-referenced-id-unique",
                    "impact": "serious",
                    "help": "An id that a label or aria-* attribute points to must be unique, or the label names "
                    "another control (axe 4.12 no longer checks duplicate ids)",
                    "nodes": [{"target": [f"#{i}"]} for i in shared],
                }
            )
        finding = AxeFinding(step=step, url=url, lang=lang, violations=violations)
        self.findings.append(finding)
        self._seen[key] = finding
        return finding

    def report(self) -> dict[str, Any]:
        return {
            "axe_version": self.script.read_text(errors="replace")[:40].split("\n", 1)[0],
            "tags": AXE_TAGS,
            "pages": [
                {
                    "step": f.step,
                    "url": f.url,
                    "lang": f.lang,
                    "violations": [
                        {
                            "id": v["id"],
                            "impact": v.get("impact"),
                            "help": v.get("help"),
                            "targets": [n.get("target") for n in v.get("nodes", [])][:10],
                        }
                        for v in f.violations
                    ],
                }
                for f in self.findings
            ],
        }


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = ", ".join(str(n.get("target")) for n in v.get("nodes", [])[:5])
        lines.append(f"  [{v.get('impact')}] {v['id']}: {v.get('help')} -> {targets}")
    return "\n".join(lines)


@dataclass
class Steps:
    """The journey's trail: a screenshot per step, written to disk only if the journey fails."""

    name: str
    shots: list[tuple[str, bytes]] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)

    def save(self) -> Path:
        folder = ARTIFACTS / self.name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
        for i, (label, png) in enumerate(self.shots, 1):
            (folder / f"{i:02d}-{_slug(label)}.png").write_bytes(png)
        for i, page in enumerate(self.pages, 1):
            if not page.is_closed():
                with contextlib.suppress(Exception):  # best effort while reporting a failure
                    page.screenshot(path=str(folder / f"zz-at-failure-{i}.png"), full_page=True)
        return folder


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-")[:60] or "step"


class Journey:
    """One test's story: opens actors' pages, records every step and audits it with axe."""

    def __init__(
        self,
        live: LiveApp,
        browser: Browser,
        staff_contexts: dict[str, tuple[BrowserContext, str]],
        audit: AxeAudit,
        steps: Steps,
    ) -> None:
        self.live = live
        self.browser = browser
        self.staff_contexts = staff_contexts
        self.audit = audit
        self.steps = steps
        self.blocking: list[AxeFinding] = []
        self.off_site: list[str] = []  # requests a reporter's browser made to anywhere but the site
        self._pages: list[Page] = []

    def step(self, page: Page, label: str) -> None:
        """Record the page as it is now and audit it; axe blockers are collected, asserted at the end."""
        page.wait_for_load_state("load")
        self.steps.shots.append((label, page.screenshot(full_page=True)))
        if page.url.startswith(self.live.base_url):
            finding = self.audit.check(page, f"{self.steps.name}: {label}")
            if finding.blocking:
                self.blocking.append(finding)

    def assert_accessible(self) -> None:
        """No page of the journey had a serious or critical axe-core violation."""
        message = "\n".join(f"{f.step} ({f.url}):\n{describe(f.blocking)}" for f in self.blocking)
        assert not self.blocking, "axe-core found serious/critical violations:\n" + message

    def new_page(self, context: BrowserContext) -> Page:
        page = context.new_page()
        self._pages.append(page)
        self.steps.pages.append(page)
        return page

    def close(self) -> None:
        for page in self._pages:
            if not page.is_closed():
                page.close()

    # -- actors -------------------------------------------------------------

    def reporter(self) -> Reporter:
        """An anonymous reporter in a fresh browser with JavaScript disabled (Tor Browser's safest mode)."""
        context = self.browser.new_context(
            base_url=self.live.base_url, java_script_enabled=False, locale="ko-KR", accept_downloads=True
        )
        # Reporter pages must load nothing from anywhere but the site itself (DESIGN.md section 5).
        context.on(
            "request",
            lambda r: None if r.url.startswith((self.live.base_url + "/", "data:")) else self.off_site.append(r.url),
        )
        return Reporter(self, context, self.new_page(context))

    def staff(self, username: str, locale: str = "en") -> Officer:
        """A staff member in their own browser, signed in once per run (a TOTP code serves once)."""
        creds = self.live.staff[username]
        known = self.staff_contexts.get(username)
        if known is None:
            context = self.browser.new_context(base_url=self.live.base_url, accept_downloads=True)
            officer = Officer(self, context, self.new_page(context), creds, locale)
            officer.sign_in()
        else:
            context, current = known
            officer = Officer(self, context, self.new_page(context), creds, current)
            if current != locale:
                officer.page.goto("/staff/")
                officer.choose_language(locale)
        self.staff_contexts[username] = (context, locale)
        return officer


class Actor:
    def __init__(self, journey: Journey, context: BrowserContext, page: Page, locale: str) -> None:
        self.journey = journey
        self.context = context
        self.page = page
        self.locale = locale

    def t(self, msgid: str) -> str:
        return tr(msgid, self.locale)

    def step(self, label: str) -> None:
        self.journey.step(self.page, label)

    def goto(self, path: str, label: str) -> int:
        response = self.page.goto(path)
        assert response is not None
        self.step(label)
        return response.status

    def field(self, msgid: str) -> Locator:
        """A form control found by its visible label: the page must label it for this to work."""
        return self.page.get_by_label(self.t(msgid), exact=True)

    def press(self, msgid: str, label: str, within: Locator | Page | None = None) -> None:
        """Press a button by its text and record the page it leads to."""
        scope = within or self.page
        with self.page.expect_navigation():
            scope.get_by_role("button", name=self.t(msgid), exact=True).click()
        self.step(label)

    def expect_lang(self) -> None:
        expect(self.page.locator("html")).to_have_attribute("lang", self.locale)

    def choose_language(self, locale: str) -> None:
        """Use the language switch in the header, as a person would."""
        if self.page.locator("html").get_attribute("lang") != locale:
            with self.page.expect_navigation():
                self.page.locator(f'.lang-switch button[value="{locale}"]').click()
        self.locale = locale
        self.expect_lang()


class Reporter(Actor):
    """The anonymous reporter: Korean interface, no JavaScript, comes back only with the receipt."""

    def __init__(self, journey: Journey, context: BrowserContext, page: Page) -> None:
        super().__init__(journey, context, page, "ko")
        self._served_at = time.monotonic()

    def goto(self, path: str, label: str) -> int:
        status = super().goto(path, label)
        self._served_at = time.monotonic()
        return status

    def dwell(self) -> None:
        """Wait out the form's minimum open time, as a person filling it in would have."""
        remaining = FORM_DWELL_SECONDS - (time.monotonic() - self._served_at)
        if remaining > 0:
            self.page.wait_for_timeout(remaining * 1000)

    def enter_receipt(self, receipt: str) -> None:
        self.goto("/receipt", "receipt login")
        self.expect_lang()
        self.field("Receipt code").fill(receipt)
        self.dwell()
        self.press("Open", "inbox")
        expect(self.page.get_by_role("heading", level=1)).to_contain_text(
            self.t("My report %(ref)s").split("%(ref)s")[0].strip()
        )

    def leave(self) -> None:
        self.press("Leave my inbox", "left the inbox")
        self.context.close()


class Officer(Actor):
    """A staff member signing in with password and TOTP, then working through the staff pages."""

    def __init__(self, journey: Journey, context: BrowserContext, page: Page, creds: Credentials, locale: str) -> None:
        super().__init__(journey, context, page, locale)
        self.creds = creds

    def sign_in(self) -> None:
        """Password, then the authenticator code (or, the first time, enrolment), in the chosen language."""
        wanted = self.locale
        self.page.goto("/staff/login")
        self.choose_language(wanted)
        self.step(f"{self.creds.username} sign-in")
        self.field("Username").fill(self.creds.username)
        self.field("Password").fill(self.creds.password)
        self.press("Continue", f"{self.creds.username} second factor")
        if self.creds.totp_secret is None:
            self.enrol()
        self.field("6-digit code from your authenticator app").fill(self.creds.code())
        self.press("Sign in", f"{self.creds.username} start page")
        assert self.page.url.endswith("/staff/"), self.page.url
        self.expect_lang()

    def enrol(self) -> None:
        """First sign-in: read the key the page shows, as one types it into an authenticator app."""
        expect(self.page.get_by_role("heading", level=1)).to_have_text(self.t("Set up your second factor"))
        self.creds.totp_secret = self.page.locator("code.secret").inner_text().replace(" ", "")

    def open_case(self, ref: str) -> None:
        """From the case list, follow the link of the case with this public reference."""
        self.goto("/staff/cases/", "case list")
        with self.page.expect_navigation():
            self.page.get_by_role("link", name=ref, exact=True).click()
        self.step(f"case {ref}")

    def case_id(self) -> int:
        m = re.search(r"/staff/cases/(\d+)", self.page.url)
        assert m, self.page.url
        return int(m.group(1))

    def section(self, heading_msgid: str) -> Locator:
        """The page section labelled by this heading."""
        return self.page.get_by_role("region", name=self.t(heading_msgid), exact=True)

    def move_case(self, target: str, label: str, **fields: str) -> None:
        """Use the "Move the case" form: choose the new state, fill what it needs, press Move."""
        form = self.section("Move the case")
        form.get_by_label(self.t("Move to"), exact=True).select_option(target)
        for msgid, value in fields.items():
            control = form.get_by_label(self.t(msgid), exact=True)
            if control.evaluate("e => e.tagName") == "SELECT":
                control.select_option(value)
            else:
                control.fill(value)
        self.press("Move", label, within=form)


def today_in_seoul() -> dt.date:
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()


def write_axe_report(audit: AxeAudit) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "axe-report.json"
    path.write_text(json.dumps(audit.report(), ensure_ascii=False, indent=2))
    return path
