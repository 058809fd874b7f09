"""The accessibility audit itself: it must see a broken page as broken, or a clean run would prove nothing."""

from __future__ import annotations

from .journey import AxeAudit


def test_the_audit_blocks_an_unlabelled_field_and_a_label_pointing_at_a_shared_id(live_app, browser) -> None:
    audit = AxeAudit(browser)  # its own audit: these findings stay out of build/browser/axe-report.json
    context = browser.new_context(base_url=live_app.base_url)
    try:
        page = context.new_page()
        page.goto("/staff/login")
        assert not audit.check(page, "sign-in page as served").blocking
        # Break it the two ways the journeys' pages once were broken: a control with no label,
        # and two controls sharing the id a label points to.
        page.evaluate("document.querySelector('label[for=username]').remove()")
        page.evaluate(
            "const p = document.getElementById('password');"
            "p.insertAdjacentHTML('afterend', '<input type=text id=password name=other>')"
        )
        found = {v["id"] for v in audit.check(page, "sign-in page broken").blocking}
        assert {"label", "haechi-referenced-id-unique"} <= found, found
    finally:
        context.close()
        audit.context.close()
