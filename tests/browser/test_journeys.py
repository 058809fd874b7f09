"""Every journey of issue 9 walked in headless Chromium against the served app, each page audited by axe-core.

Each journey starts from a report a reporter sends through the browser, so the
journeys are independent of each other and of their order.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

from playwright.sync_api import expect
from pypdf import PdfReader

from .journey import RECEIPT_RE, Journey, Officer, Reporter, today_in_seoul
from .live import CONFLICTED

# What the reporter writes, in Korean (the default language of the site).
WHAT = "인허가과 과장이 식당 영업허가를 내주는 대가로 현금 300만 원을 요구했습니다. 저는 그 자리에 있었습니다."
WHO = "인허가과 과장"
WHEN_WHERE = "3월 둘째 주, 시청 별관 3층 민원 창구"
EVIDENCE = [
    ("영수증-사진.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 fake jpeg bytes of a receipt photo " * 50),
    ("meeting-notes.pdf", "application/pdf", b"%PDF-1.4 notes of the meeting where cash was asked for " * 40),
]


def send_report(journey: Journey) -> tuple[Reporter, str, str]:
    """A reporter sends a report in Korean with two files, JavaScript off; returns them, the receipt, the reference."""
    reporter = journey.reporter()
    reporter.goto("/", "welcome")
    reporter.expect_lang()
    with reporter.page.expect_navigation():
        reporter.page.get_by_role("link", name=reporter.t("Make a report or check on one")).click()
    reporter.step("report form")
    reporter.expect_lang()
    page, t = reporter.page, reporter.t
    page.get_by_label(t("Bribery of any kind (money, gifts, entertainment, favours)"), exact=True).check()
    reporter.field("Department concerned").select_option(label="인허가과")
    reporter.field("What happened?").fill(WHAT)
    reporter.field("When and where did it happen?").fill(WHEN_WHERE)
    reporter.field("Who was involved?").fill(WHO)
    reporter.field("Amount involved, in won (optional)").fill("3,000,000")
    page.get_by_label(t("I saw or took part in it myself"), exact=True).check()
    page.get_by_label(t("Yes, I work for the city"), exact=True).check()
    reporter.field("Your name (optional)").fill("홍길동")
    reporter.field("Employee number (optional)").fill("E-20417")
    reporter.field("Files (optional)").set_input_files(
        [{"name": name, "mimeType": mime, "buffer": body} for name, mime, body in EVIDENCE]
    )
    reporter.dwell()
    reporter.press("Send report", "receipt")

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Your report has been received"))
    receipt = page.locator("p.receipt strong").inner_text().strip()
    assert RECEIPT_RE.match(receipt), receipt
    prefix = t("Reference of your report: %(ref)s").split("%(ref)s")[0]
    ref_text = page.get_by_text(prefix).inner_text()
    ref = ref_text.split(prefix.strip(), 1)[1].strip()
    assert ref, ref_text
    assert not journey.off_site, journey.off_site
    return reporter, receipt, ref


def route_to_investigation(intake: Officer, ref: str) -> int:
    """Intake acknowledges, triages and assigns the case to the investigation team; returns its id."""
    intake.open_case(ref)
    intake.move_case("acknowledged", "acknowledged")
    intake.move_case("triage", "triaged")
    access = intake.section("Who can open this case")
    access.get_by_label(intake.t("Team"), exact=True).select_option(label="investigation")
    intake.press("Assign", "assigned the investigation team", within=access)
    return intake.case_id()


def test_a_korean_reporter_without_javascript_sends_two_files_and_intake_reads_them(journey: Journey) -> None:
    reporter, receipt, ref = send_report(journey)

    # The receipt is the only way back; it is not in the URL and the page asks to keep it safe.
    assert receipt.replace("-", "") not in reporter.page.url
    reporter.context.close()

    intake = journey.staff("intake")
    intake.goto("/staff/queues/", "intake queue")
    queue = intake.page.get_by_role("table")
    expect(queue).to_contain_text(ref)
    with intake.page.expect_navigation():
        queue.get_by_role("link", name=ref, exact=True).click()
    intake.step(f"case {ref} from the queue")
    report = intake.section("Report")
    expect(report).to_contain_text(WHAT)
    expect(report).to_contain_text(WHO)
    expect(report).to_contain_text("3,000,000")
    for name, _mime, body in EVIDENCE:
        with intake.page.expect_download() as download:
            report.get_by_role("link", name=name, exact=True).click()
        saved = Path(download.value.path())
        assert hashlib.sha256(saved.read_bytes()).digest() == hashlib.sha256(body).digest(), name
    journey.assert_accessible()


def test_intake_excludes_a_conflicted_investigator_who_is_then_refused_even_by_url(journey: Journey) -> None:
    reporter, _receipt, ref = send_report(journey)
    reporter.context.close()

    intake = journey.staff("intake")
    case_id = route_to_investigation(intake, ref)
    access = intake.section("Who can open this case")
    access.get_by_label(intake.t("Person with a conflict of interest"), exact=True).select_option(
        label="Yoon Conflicted"
    )
    access.get_by_label(intake.t("Reason"), exact=True).fill("Brother-in-law of the official concerned")
    intake.press("Exclude (conflict of interest)", "excluded the conflicted investigator", within=access)
    intake.move_case("investigating", "investigation started")
    expect(intake.page.get_by_role("heading", level=1)).to_contain_text(intake.t("Investigating"))

    # The conflicted investigator signs in for the first time (enrolling a second factor) ...
    conflicted = journey.staff(CONFLICTED)
    # ... does not find the case in the list ...
    conflicted.goto("/staff/cases/", "conflicted officer's case list")
    expect(conflicted.page.get_by_role("main")).not_to_contain_text(ref)
    # ... and is refused when typing its address.
    status = conflicted.goto(f"/staff/cases/{case_id}", "conflicted officer refused")
    assert status in (403, 404), status
    expect(conflicted.page.get_by_role("main")).not_to_contain_text(WHAT)
    expect(conflicted.page.get_by_role("heading", level=1)).to_have_text(
        conflicted.t("Page not found") if status == 404 else conflicted.t("Access denied")
    )
    # A colleague of the same team, not excluded, opens it.
    investigator = journey.staff("investigator")
    investigator.open_case(ref)
    expect(investigator.section("Report")).to_contain_text(WHAT)
    journey.assert_accessible()


QUESTION = "Was anyone else at the desk when the cash was asked for?"
NOTE = "Permit register checked: the licence was issued two days after the meeting."
ANSWER = "네, 옆 창구 직원도 그 자리에 있었습니다."
OUTCOME_REASONS = "The register and the witness confirm the request for cash; referred to the prosecution."
FINAL_WORD = "Your report was substantiated and referred to the prosecution. Thank you."


def test_an_investigator_works_the_case_to_resolution_while_the_reporter_answers_with_the_receipt(
    journey: Journey,
) -> None:
    reporter, receipt, ref = send_report(journey)
    reporter.context.close()
    intake = journey.staff("intake")
    route_to_investigation(intake, ref)
    intake.move_case("investigating", "investigation started")

    investigator = journey.staff("investigator")
    investigator.open_case(ref)
    notes = investigator.section("Internal notes and history")
    notes.get_by_label(investigator.t("Internal note (never shown to the reporter)"), exact=True).fill(NOTE)
    investigator.press("Add note", "note added", within=notes)
    conversation = investigator.section("Conversation with the reporter")
    conversation.get_by_label(investigator.t("Message to the reporter"), exact=True).fill(QUESTION)
    conversation.get_by_label(investigator.t("This is a question the reporter should answer"), exact=True).check()
    investigator.press("Send to the reporter", "question sent", within=conversation)

    # The reporter comes back with nothing but the receipt, reads the question (never the note) and answers.
    reporter = journey.reporter()
    reporter.enter_receipt(receipt)
    messages = reporter.page.get_by_role("region", name=reporter.t("Messages"), exact=True)
    expect(messages).to_contain_text(QUESTION)
    expect(messages.get_by_role("heading", name=reporter.t("The team asks"))).to_be_visible()
    expect(reporter.page.get_by_role("main")).not_to_contain_text(NOTE)
    reporter.field("Your message").fill(ANSWER)
    expect(reporter.field("This answers the team's question")).to_be_checked()
    reporter.press("Send", "answer sent")
    expect(messages).to_contain_text(ANSWER)
    reporter.leave()

    # The investigator reads the answer and resolves the case with an outcome and written reasons.
    investigator.open_case(ref)
    expect(investigator.section("Conversation with the reporter")).to_contain_text(ANSWER)
    investigator.move_case(
        "resolved",
        "resolved",
        **{
            "Outcome": "referred_prosecution",
            "Reasons (written record)": OUTCOME_REASONS,
            "Reporter told on": today_in_seoul().isoformat(),
        },
    )
    heading = investigator.page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(investigator.t("Resolved"))
    conversation = investigator.section("Conversation with the reporter")
    conversation.get_by_label(investigator.t("Message to the reporter"), exact=True).fill(FINAL_WORD)
    investigator.press("Send to the reporter", "outcome told to the reporter", within=conversation)

    # The reporter returns once more and reads the outcome.
    reporter = journey.reporter()
    reporter.enter_receipt(receipt)
    expect(reporter.page.get_by_role("region", name=reporter.t("Messages"), exact=True)).to_contain_text(FINAL_WORD)
    reporter.leave()
    journey.assert_accessible()


SUPPORT_DETAILS = "Litigation costs for the civil suit the official filed against the reporter after the report."


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages)


def test_a_legal_officer_approves_support_a_supervisor_confirms_and_the_pdf_support_file_says_so(
    journey: Journey,
) -> None:
    reporter, _receipt, ref = send_report(journey)
    reporter.context.close()
    intake = journey.staff("intake")
    intake.open_case(ref)
    intake.move_case("acknowledged", "acknowledged")
    access = intake.section("Who can open this case")
    access.get_by_label(intake.t("Team"), exact=True).select_option(label="legal")
    intake.press("Assign", "assigned the legal team", within=access)
    access = intake.section("Who can open this case")
    access.get_by_label(intake.t("Person"), exact=True).select_option(label="감독관 Jung Supervisor")
    intake.press("Assign", "assigned the supervisor", within=access)

    # The legal officer enters an 8,000,000 won request (above the 5,000,000 won four-eyes threshold) and approves it.
    legal = journey.staff("legal")
    legal.open_case(ref)
    with legal.page.expect_navigation():
        legal.page.get_by_role("link", name=legal.t("Support for the reporter"), exact=True).click()
    legal.step("support panel")
    new = legal.section("Enter a support request")
    new.get_by_label(legal.t("Kind of support"), exact=True).select_option("litigation_costs")
    new.get_by_label(legal.t("Amount requested (won)"), exact=True).fill("8,000,000")
    new.get_by_label(legal.t("Details"), exact=True).fill(SUPPORT_DETAILS)
    legal.press("Enter the request", "support request entered", within=new)
    legal.press("Start the review", "review started")
    request = legal.page.locator("section.card").first
    request.get_by_label(legal.t("Decision"), exact=True).select_option("approve")
    expect(request.get_by_label(legal.t("Amount approved (won)"), exact=True)).to_have_value("8,000,000")
    legal.press("Decide", "approved, waiting for the second approval", within=request)
    expect(legal.page.locator("section.card").first).to_contain_text(legal.t("waiting for a supervisor"))
    support_url = legal.page.url

    # A supervisor gives the second approval; the legal officer cannot give it to their own decision.
    expect(legal.page.get_by_role("button", name=legal.t("Confirm the approval (second approver)"))).to_have_count(0)
    supervisor = journey.staff("supervisor")
    supervisor.goto(support_url, "supervisor's support panel")
    supervisor.press("Confirm the approval (second approver)", "second approval given")
    expect(supervisor.page.locator("section.card").first).not_to_contain_text(supervisor.t("waiting for a supervisor"))

    # The legal officer downloads the PDF support file; its text carries the case, the amounts and their name.
    legal.goto(support_url, "support panel after the second approval")
    legal.open_case(ref)
    with legal.page.expect_navigation():
        legal.page.get_by_role("link", name=legal.t("Support file (PDF)"), exact=True).click()
    legal.step("support file form")
    legal.page.get_by_label("한국어", exact=True).check()  # the file in Korean; languages are named in themselves
    with legal.page.expect_download() as download:
        legal.page.get_by_role("button", name=legal.t("Download the PDF"), exact=True).click()
    assert download.value.suggested_filename.endswith(".pdf"), download.value.suggested_filename
    text = pdf_text(Path(download.value.path()))
    flat = re.sub(r"\s+", " ", text)
    assert ref in flat, flat[:2000]
    assert "8,000,000" in flat, flat[:2000]
    assert "대외비" in flat and "지원 파일" in flat, flat[:2000]  # marked confidential, titled in Korean
    assert "Park Legal" in flat, flat[:2000]  # watermarked with who generated it
    journey.assert_accessible()


def test_a_protection_officer_sees_a_retaliation_alert_raised_by_an_imported_personnel_event(
    journey: Journey, tmp_path: Path
) -> None:
    reporter, _receipt, ref = send_report(journey)  # a public officer who gave employee number E-20417
    reporter.context.close()

    # The protection officer protects the reporter from the identity record (the number never shows on screen).
    protector = journey.staff("protection")
    protector.goto("/staff/protection/", "protection dashboard")
    persons = protector.section("Protected persons")
    persons.get_by_label(protector.t("Case reference"), exact=True).fill(ref)
    protector.press("Protect", "reporter protected", within=persons)
    expect(protector.page.get_by_role("main")).not_to_contain_text("E-20417")

    # The personnel system reports a transfer of that employee; the bridge imports it.
    event = {
        "event_id": f"HR-BROWSER-{ref}",
        "employee_number": "E-20417",
        "event_type": "transfer",
        "effective_on": today_in_seoul().isoformat(),
        "department": "PERMITS",
        "detail": "인허가과에서 민원봉사과로 전보 (정기 인사 외)",
    }
    feed = tmp_path / "personnel-events.jsonl"
    feed.write_text(json.dumps(event, ensure_ascii=False) + "\n", encoding="utf-8")
    journey.live.flask("bridge", "import", "personnel", str(feed))

    protector.goto("/staff/protection/", "protection dashboard with the alert")
    alerts = protector.section("Open retaliation alerts")
    row = alerts.get_by_role("row").filter(has_text=ref)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(today_in_seoul().isoformat())
    with protector.page.expect_navigation():
        row.get_by_role("link", name=ref, exact=True).click()
    protector.step("protected person with the alert")
    journey.assert_accessible()


def test_the_dashboards_render_for_a_supervisor_and_a_team_member(journey: Journey) -> None:
    reporter, _receipt, _ref = send_report(journey)  # at least one case to count
    reporter.context.close()
    supervisor = journey.staff("supervisor")
    assert supervisor.goto("/staff/dashboards/", "supervisor dashboard") == 200
    expect(supervisor.page.get_by_role("heading", level=1)).to_have_text(supervisor.t("Supervisor dashboard"))
    expect(supervisor.page.get_by_role("heading", level=2, name=supervisor.t("Panels"))).to_be_visible()
    investigator = journey.staff("investigator", locale="ko")
    assert investigator.goto("/staff/dashboards/team", "team dashboard in Korean") == 200
    investigator.expect_lang()
    expect(investigator.page.get_by_role("heading", level=1)).to_contain_text(
        investigator.t("Team dashboard: %(team)s").split("%(team)s")[0].strip()
    )
    journey.assert_accessible()
