"""The reporter surface: validation, receipts, limits, sessions, anonymity, languages."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from app import create_app
from app.db import get_session
from app.models.cases import Attachment, Case, CaseEntry, CaseKeyGrant, IdentityRecord
from app.reporting import session as reporter_session

from .conftest import REPORT_FIELDS, ReporterAuth, csrf_token, ticket


def _blobs(settings) -> list:
    root = settings.instance_path / "blobs"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# -- submission and validation -------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("category", "", "Choose the kind of wrongdoing"),
        ("category", "gossip", "Not a valid choice"),
        ("what", "", "Describe what happened"),
        ("what", "too short", "between 20 and 20,000"),
        ("what", "x" * 20_001, "between 20 and 20,000"),
        ("when_where", "x" * 2_001, "At most 2,000"),
        ("who", "x" * 2_001, "At most 2,000"),
        ("amount", "about a million", "whole number of won"),
        ("amount", "-5000", "whole number of won"),
        ("amount", "1.5", "whole number of won"),
        ("amount", "9" * 17, "whole number of won"),
        ("how_known", "", "Tell us how you know"),
        ("public_officer", "", "Choose one answer"),
        ("department_id", "999", "Choose a department from the list"),
        ("employee_number", "#!", "3 to 20 letters"),
        ("contact", "call me maybe", "phone number"),
        ("name", "x" * 101, "Field cannot be longer"),
    ],
)
def test_each_bad_field_gets_a_specific_error_and_everything_typed_is_kept(
    app, office, reporter, field, value, message
):
    fields = {"who": "KEEP-WHO-text", "when_where": "KEEP-WHEN-text", field: value}
    r = reporter.submit(**fields)
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert message in html, html[html.find("field-error") - 200 : html.find("field-error") + 600]
    assert 'aria-invalid="true"' in html
    for kept in ("KEEP-WHO-text", "KEEP-WHEN-text") if field not in ("who", "when_where") else ():
        assert kept in html
    if field != "what":
        assert REPORT_FIELDS["what"] in html
    with app.app_context():
        assert get_session().query(Case).count() == 0


@pytest.mark.parametrize(
    ("typed", "won"), [("1,500,000", 1_500_000), ("１５００００원", 150_000), ("₩ 2,000", 2000), ("0", 0), ("", None)]
)
def test_amounts_are_read_as_whole_won_in_every_usual_spelling(app, office, reporter, typed, won):
    reporter.login(reporter.submit_ok(amount=typed))
    html = reporter.client.get("/receipt/inbox").get_data(as_text=True)
    if won is None:
        assert "Amount involved" not in html
    else:
        assert f"<dd>{won:,} won</dd>" in html


def test_a_report_creates_a_received_case_due_for_acknowledgement_in_seven_days(app, office, reporter):
    reporter.submit_ok(department_id="1", public_officer="yes")
    with app.app_context():
        case = get_session().query(Case).one()
        assert (case.kind, case.status, case.source, case.channel) == ("report", "received", "web", "web")
        assert case.ack_due_on == case.received_on + dt.timedelta(days=7)
        # What reporters say about themselves stays inside the encrypted report.
        assert case.internal_reporter is None and case.department_id == 1
        assert re.fullmatch(r"HC-\d{4}-[A-Z2-9]{6}", case.public_ref)
        kinds = sorted(g.grantee_kind for g in case.grants)
        assert kinds == ["recovery", "reporter", "team"]


def test_reporter_actions_are_kept_to_the_day(app, office, reporter):
    receipt = reporter.submit_ok()
    reporter.login(receipt)
    reporter.send("A follow-up message from the reporter.")
    with app.app_context():
        db = get_session()
        assert db.query(Case).one().created_at is None
        assert all(g.created_at is None for g in db.query(CaseKeyGrant))
        entries = db.query(CaseEntry).all()
        assert len(entries) == 2 and all(e.created_at is None for e in entries)
        assert all(isinstance(e.created_on, dt.date) for e in entries)


def test_identity_goes_to_the_protection_team_only(app, office, reporter, staff):
    reporter.submit_ok(name="Hong Gildong", employee_number="E-12345", contact="010-1234-5678")
    with app.app_context():
        db = get_session()
        record = db.query(IdentityRecord).one()
        assert b"Hong" not in record.fields_ct
        case = db.query(Case).one()
        from app.models.staff import StaffUser, Team
        from app.staff import keyring
        from crypto import FieldCipher, open_sealed, passwords
        from crypto.errors import DecryptionError

        from .conftest import PASSWORD

        def team_key(team_name, member):
            team = db.query(Team).filter_by(name=team_name).one()
            user = db.get(StaffUser, member.id)
            return keyring.open_team_key(team, user, passwords.unwrap(PASSWORD, user.wrapped_private_key_ct))

        protection_key = team_key("protection", office["protector"])
        identity_key = open_sealed(
            protection_key, record.sealed_to_protection_key_ct, keyring.identity_key_context(case.id)
        )
        assert b"Hong Gildong" in FieldCipher(identity_key, str(case.id)).decrypt("identity", record.fields_ct)
        with pytest.raises(DecryptionError):
            open_sealed(
                team_key("intake", office["intake"]),
                record.sealed_to_protection_key_ct,
                keyring.identity_key_context(case.id),
            )


def test_no_identity_no_identity_record(app, office, reporter):
    reporter.submit_ok()
    with app.app_context():
        assert get_session().query(IdentityRecord).count() == 0


def test_the_receipt_is_shown_once_and_never_stored(app, office, reporter, test_settings):
    receipt = reporter.submit_ok()
    digits = receipt.replace("-", "")
    assert re.fullmatch(r"(\d{4}-){5}\d{4}", receipt)
    if test_settings.database_url.startswith("sqlite"):
        from pathlib import Path

        db = Path(test_settings.database_url.removeprefix("sqlite:///"))
        for path in (db, Path(f"{db}-wal")):
            if path.exists():
                assert digits.encode() not in path.read_bytes()
    # No page can show it again.
    reporter.login(receipt)
    assert digits not in reporter.client.get("/receipt/inbox").get_data(as_text=True).replace("-", "")


def test_files_are_not_kept_when_the_form_has_an_error(app, office, reporter, test_settings):
    r = reporter.submit(files=[(io.BytesIO(b"secret evidence"), "a.pdf")], what="")
    assert r.status_code == 400
    assert "attach them again" in r.get_data(as_text=True)
    assert _blobs(test_settings) == []


def test_too_many_files_is_a_clear_error(app, office, reporter, test_settings):
    files = [(io.BytesIO(b"x"), f"f{i}.txt") for i in range(test_settings.max_files + 1)]
    r = reporter.submit(files=files)
    assert r.status_code == 400
    assert f"at most {test_settings.max_files} files" in r.get_data(as_text=True)
    assert _blobs(test_settings) == []


def test_an_oversized_upload_is_refused_clearly_and_leaves_nothing(office, test_settings, staff):
    small = create_app(test_settings.with_(max_upload_bytes=200_000))
    rep = ReporterAuth(small.test_client()).english()
    r = rep.submit(files=[(io.BytesIO(b"x" * 300_000), "big.bin")])
    assert r.status_code == 413
    html = r.get_data(as_text=True)
    assert "195.3 KiB" in html  # the upload limit of this app, not the small limit of other forms
    assert _blobs(test_settings) == []
    with small.app_context():
        assert get_session().query(Case).count() == 0
    small.extensions["haechi.engine"].dispose()


def test_uploads_to_a_route_that_takes_no_files_are_refused(app, office, client, test_settings):
    page = client.get("/language", method="GET") if False else client.get("/")
    token = csrf_token(page.get_data(as_text=True))
    r = client.post(
        "/language",
        data={"csrf_token": token, "lang": "en", "f": (io.BytesIO(b"x"), "x.txt")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400
    assert _blobs(test_settings) == []


def test_a_report_without_csrf_token_is_refused(app, office, reporter, test_settings):
    page = reporter.client.get("/report").get_data(as_text=True)
    data = {**REPORT_FIELDS, "ticket": ticket(page)}
    r = reporter.post_multipart("/report", data, [(io.BytesIO(b"x"), "a.txt")])
    assert r.status_code == 400
    assert _blobs(test_settings) == []
    with app.app_context():
        assert get_session().query(Case).count() == 0


def test_a_form_sent_too_fast_or_with_a_forged_ticket_is_refused(office, test_settings, staff):
    slow = create_app(test_settings.with_(form_min_seconds=60))
    rep = ReporterAuth(slow.test_client()).english()
    r = rep.submit()
    assert r.status_code == 400 and ("very fast" in r.get_data(as_text=True) or "빠르게" in r.get_data(as_text=True))
    page = rep.client.get("/report").get_data(as_text=True)
    r = rep.post_multipart("/report", {**REPORT_FIELDS, "csrf_token": csrf_token(page), "ticket": "AAAA"})
    assert r.status_code == 400
    slow.extensions["haechi.engine"].dispose()


# -- receipt login -------------------------------------------------------------


def test_a_wrong_receipt_gets_the_same_error_as_an_unknown_one_after_the_same_work(app, office, reporter, monkeypatch):
    from crypto import receipts

    real = receipts.derive_receipt_keys
    calls = []
    monkeypatch.setattr(receipts, "derive_receipt_keys", lambda *a, **k: calls.append(1) or real(*a, **k))
    good = reporter.submit_ok()
    calls.clear()
    unknown = receipts.format_receipt(receipts.generate_receipt())
    r = reporter.login(unknown)
    assert r.status_code == 400 and calls == [1]
    assert "No report opens with this receipt code" in r.get_data(as_text=True)
    assert reporter.client.get_cookie(reporter_session.COOKIE_NAME, path="/receipt") is None
    assert reporter.login(good).status_code == 303


def test_typos_in_a_receipt_get_a_helpful_message_without_slow_work(app, office, reporter, monkeypatch):
    from crypto import receipts

    good = reporter.submit_ok()
    monkeypatch.setattr(receipts, "argon2id", lambda *a, **k: pytest.fail("slow work for a typo"))
    typo = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert "typing mistake" in reporter.login(typo).get_data(as_text=True)
    assert "24 digits" in reporter.login(good[:-5]).get_data(as_text=True)


def test_the_receipt_may_be_typed_with_spaces_dashes_and_full_width_digits(app, office, reporter):
    good = reporter.submit_ok()
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else "　" for c in good)
    assert reporter.login(fullwidth).status_code == 303


# -- the inbox session ---------------------------------------------------------


def test_leaving_ends_the_inbox_session(app, office, reporter):
    reporter.login(reporter.submit_ok())
    page = reporter.client.get("/receipt/inbox").get_data(as_text=True)
    r = reporter.client.post("/receipt/leave", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 303
    assert reporter.client.get("/receipt/inbox").status_code == 303


def test_the_inbox_session_ends_after_idle_time(app, office, reporter, monkeypatch):
    from app.reporting import views

    reporter.login(reporter.submit_ok())
    assert reporter.client.get("/receipt/inbox").status_code == 200
    later = views._now_epoch() + 16 * 60
    monkeypatch.setattr(views, "_now_epoch", lambda: later)
    assert reporter.client.get("/receipt/inbox").status_code == 303


def test_a_forged_or_foreign_session_cookie_opens_nothing(app, office, reporter):
    reporter.login(reporter.submit_ok())
    cookie = reporter.client.get_cookie(reporter_session.COOKIE_NAME, path="/receipt").value
    flipped = cookie[:-4] + ("A" if cookie[-4] != "A" else "B") + cookie[-3:]
    other = app.test_client()
    other.set_cookie(reporter_session.COOKIE_NAME, flipped, path="/receipt")
    assert other.get("/receipt/inbox").status_code == 303


def test_a_reporter_cannot_download_another_cases_file(app, office, reporter):
    first = ReporterAuth(app.test_client())
    first.submit_ok(files=[(io.BytesIO(b"first case file"), "one.txt")])
    reporter.login(reporter.submit_ok())
    with app.app_context():
        att = get_session().query(Attachment).one()
    assert reporter.client.get(f"/receipt/files/{att.id}").status_code == 404


def test_the_reporter_answers_a_question_from_staff(app, office, reporter, staff, client):
    reporter.login(reporter.submit_ok())
    staff.login(office["intake"])
    with app.app_context():
        case_id = get_session().query(Case).one().id
    page = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    client.post(
        f"/staff/cases/{case_id}/messages",
        data={"csrf_token": csrf_token(page), "body": "Which floor was it?", "question": "y"},
    )
    inbox = reporter.client.get("/receipt/inbox").get_data(as_text=True)
    assert "Which floor was it?" in inbox and 'name="answers"' in inbox
    assert reporter.send("The third floor.", answers=True).status_code == 303
    with app.app_context():
        kinds = [e.kind for e in get_session().query(CaseEntry).order_by(CaseEntry.id)]
    assert kinds == ["report", "question", "answer"]


def test_staff_without_a_grant_cannot_open_the_case_even_by_url(app, office, reporter, staff, client):
    from app.models.staff import Role

    reporter.submit_ok()
    outsider = staff.create("legal1", Role.LEGAL)
    staff.login(outsider)
    with app.app_context():
        case_id = get_session().query(Case).one().id
    assert client.get(f"/staff/cases/{case_id}").status_code == 404
    assert "HC-" not in client.get("/staff/cases/").get_data(as_text=True)


# -- rate limits ---------------------------------------------------------------


def test_submissions_over_the_rate_limit_are_refused(office, test_settings, staff):
    limited = create_app(test_settings.with_(submit_rate="2/minute", receipt_rate="2/minute"))
    rep = ReporterAuth(limited.test_client()).english()
    assert rep.submit().status_code == 200
    assert rep.submit().status_code == 200
    r = rep.submit()
    assert r.status_code == 429
    # Reading the form is not limited.
    assert rep.client.get("/report").status_code == 200
    assert rep.login("0000-0000-0000-0000-0000-0000").status_code == 400
    assert rep.login("0000-0000-0000-0000-0000-0000").status_code == 400
    assert rep.login("0000-0000-0000-0000-0000-0000").status_code == 429
    limited.extensions["haechi.engine"].dispose()


# -- pages: no script, nothing from outside, two languages ------------------------


def _reporter_pages(app, office, reporter) -> dict[str, str]:
    pages = {
        "report": reporter.client.get("/report").get_data(as_text=True),
        "receipt": reporter.client.get("/receipt").get_data(as_text=True),
    }
    r = reporter.submit(files=[(io.BytesIO(b"x"), "a.txt")])
    pages["receipt_shown"] = r.get_data(as_text=True)
    code = re.search(r"<strong>([0-9-]+)</strong>", pages["receipt_shown"]).group(1)
    reporter.login(code)
    pages["inbox"] = reporter.client.get("/receipt/inbox").get_data(as_text=True)
    pages["invalid"] = reporter.submit(what="").get_data(as_text=True)
    pages["not_found"] = reporter.client.get("/receipt/nowhere").get_data(as_text=True)
    return pages


def test_reporter_pages_have_no_script_and_load_nothing_from_outside(app, office, reporter):
    for name, html in _reporter_pages(app, office, reporter).items():
        assert "<script" not in html.lower(), name
        assert re.search(r"<[^>]+\son[a-z]+\s*=", html, flags=re.IGNORECASE) is None, name  # no handlers
        for url in re.findall(r'(?:src|href|action)="([^"]*)"', html):
            assert url.startswith(("/", "#", "data:")) and not url.startswith("//"), (name, url)
        assert "style=" not in html, name


def test_reporter_pages_exist_in_korean_and_english(app, office):
    reporter = ReporterAuth(app.test_client())
    ko = reporter.client.get("/report").get_data(as_text=True)
    assert '<html lang="ko">' in ko and "부패·공익침해 신고하기" in ko
    reporter.client.post("/language", data={"csrf_token": csrf_token(ko), "lang": "en", "next": "/report"})
    en = reporter.client.get("/report").get_data(as_text=True)
    assert '<html lang="en">' in en and "Report wrongdoing" in en
    assert not re.search(
        "[\uac00-\ud7a3]",
        re.sub(r'<span lang="ko">[^<]*</span>|lang-[a-z]+"[^>]*>[^<]*<', "", en)
        .replace("한국어", "")
        .replace("해치", ""),
    )


def test_the_receipt_page_is_never_cached(app, office, reporter):
    r = reporter.submit()
    assert r.status_code == 200
    assert "no-store" in r.headers["Cache-Control"]


def test_an_inbox_message_without_csrf_token_is_refused(app, office, reporter, test_settings):
    reporter.login(reporter.submit_ok())
    r = reporter.post_multipart("/receipt/inbox", {"body": "no token"}, [(io.BytesIO(b"x"), "x.txt")])
    assert r.status_code == 400
    with app.app_context():
        assert get_session().query(CaseEntry).count() == 1
        assert get_session().query(Attachment).count() == 0
    assert len(_blobs(test_settings)) == 0


def test_with_redis_configured_the_limits_are_shared_through_redis(office, test_settings, staff):
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/14"
    try:
        conn = redis.Redis.from_url(url, socket_connect_timeout=1)
        conn.ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable")
    conn.flushdb()
    try:
        limited = create_app(test_settings.with_(redis_url=url, receipt_rate="1/minute"))
        rep = ReporterAuth(limited.test_client()).english()
        assert rep.login("0000-0000-0000-0000-0000-0000").status_code == 400
        # A second worker (another app on the same Redis) sees the same budget.
        other = ReporterAuth(create_app(test_settings.with_(redis_url=url, receipt_rate="1/minute")).test_client())
        assert other.login("0000-0000-0000-0000-0000-0000").status_code == 429
        assert conn.keys("*")
        # What Redis holds names routes, never a person.
        assert all(b"127.0.0.1" not in k for k in conn.keys("*"))
    finally:
        conn.flushdb()


def test_rekeying_the_protection_team_keeps_identities_readable_by_members_and_not_by_the_removed(
    app, office, reporter, staff
):
    from app.models.staff import Role, StaffUser, Team
    from app.staff import keyring, teams
    from crypto import FieldCipher, open_sealed, passwords
    from crypto.errors import DecryptionError

    from .conftest import PASSWORD

    second = staff.create("protector2", Role.PROTECTION)
    reporter.submit_ok(name="Hong Gildong")
    with app.app_context():
        db = get_session()
        team = db.query(Team).filter_by(name="protection").one()
        first_user = db.get(StaffUser, office["protector"].id)
        first_priv = passwords.unwrap(PASSWORD, first_user.wrapped_private_key_ct)
        first_key = keyring.open_team_key(team, first_user, first_priv)
        teams.add_member_with_key(db, team, first_key, db.get(StaffUser, second.id), first_user)
        db.commit()
        teams.remove_member(db, team, first_user, first_key)  # re-keys the team
        db.commit()
        record = db.query(IdentityRecord).one()
        assert record.protection_team_id == team.id and record.key_version == team.key_version == 2
        context = keyring.identity_key_context(record.case_id)
        second_user = db.get(StaffUser, second.id)
        new_key = keyring.open_team_key(
            team, second_user, passwords.unwrap(PASSWORD, second_user.wrapped_private_key_ct)
        )
        identity_key = open_sealed(new_key, record.sealed_to_protection_key_ct, context)
        assert b"Hong Gildong" in FieldCipher(identity_key, str(record.case_id)).decrypt("identity", record.fields_ct)
        with pytest.raises(DecryptionError):
            open_sealed(first_key, record.sealed_to_protection_key_ct, context)


def test_junk_posts_do_not_use_up_the_budget_real_reporters_share(office, test_settings, staff):
    limited = create_app(test_settings.with_(submit_rate="2/minute"))
    rep = ReporterAuth(limited.test_client()).english()
    for _ in range(5):
        assert rep.client.post("/report", data={"what": "junk"}, content_type="multipart/form-data").status_code == 400
        assert rep.client.post("/receipt/inbox", data={"x": "1"}).status_code == 303
    assert rep.submit().status_code == 200
    assert rep.submit().status_code == 200
    assert rep.submit().status_code == 429
    limited.extensions["haechi.engine"].dispose()


def test_sending_the_same_form_twice_files_one_report(app, office, reporter):
    page = reporter.client.get("/report").get_data(as_text=True)
    data = {**REPORT_FIELDS, "csrf_token": csrf_token(page), "ticket": ticket(page)}
    first = reporter.post_multipart("/report", data)
    assert first.status_code == 200
    again = reporter.post_multipart("/report", data)
    assert again.status_code == 400 and "already sent" in again.get_data(as_text=True)
    with app.app_context():
        assert get_session().query(Case).count() == 1


def test_the_receipt_page_has_no_language_switch_that_would_lose_the_receipt(app, office, reporter):
    html = reporter.submit().get_data(as_text=True)
    assert 'action="/language"' not in html


def test_a_large_form_body_is_refused_before_it_is_read(app, office, client):
    r = client.post("/receipt", data={"receipt": "1" * (2 * 1024 * 1024)})
    assert r.status_code == 413


def test_an_upload_route_takes_only_multipart_bodies(app, office, reporter):
    page = reporter.client.get("/report").get_data(as_text=True)
    r = reporter.client.post("/report", data={**REPORT_FIELDS, "csrf_token": csrf_token(page), "ticket": ticket(page)})
    assert r.status_code == 400
    with app.app_context():
        assert get_session().query(Case).count() == 0


@pytest.mark.parametrize("field", ["what", "who", "name", "contact", "amount", "ticket", "extra"])
def test_a_file_sent_under_another_field_name_is_refused(app, office, reporter, test_settings, field):
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    page = reporter.client.get("/report").get_data(as_text=True)
    values = MultiDict({**REPORT_FIELDS, "csrf_token": csrf_token(page), "ticket": ticket(page)})
    values.add(field, FileStorage(stream=io.BytesIO(b"sneaky"), filename="x.txt"))
    boundary, body = encode_multipart(values)
    r = reporter.client.post("/report", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert r.status_code == 400
    assert _blobs(test_settings) == []


def test_a_file_name_with_a_line_break_is_stored_clean_and_still_downloads(app, office, reporter):
    page = reporter.client.get("/report").get_data(as_text=True)
    fields = {**REPORT_FIELDS, "csrf_token": csrf_token(page), "ticket": ticket(page)}
    parts = [f'--B\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    parts.append(
        "--B\r\nContent-Disposition: form-data; name=\"files\"; filename*=UTF-8''a%0D%0AX%3A%20y.txt\r\n"
        "Content-Type: text/plain\r\n\r\ndata\r\n--B--\r\n"
    )
    r = reporter.client.post("/report", data="".join(parts).encode(), content_type="multipart/form-data; boundary=B")
    code = re.search(r"<strong>([0-9-]+)</strong>", r.get_data(as_text=True)).group(1)
    reporter.login(code)
    with app.app_context():
        att = get_session().query(Attachment).one()
    download = reporter.client.get(f"/receipt/files/{att.id}")
    assert download.status_code == 200 and download.get_data() == b"data"
    assert "aX: y.txt" in reporter.client.get("/receipt/inbox").get_data(as_text=True)


def test_the_inbox_session_ends_at_its_absolute_limit_even_when_kept_busy(
    app, office, reporter, monkeypatch, test_settings
):
    from app.reporting import views

    reporter.login(reporter.submit_ok())
    start = views._now_epoch()
    step = (test_settings.reporter_idle_minutes - 1) * 60
    for n in range(1, test_settings.reporter_absolute_minutes * 60 // step + 2):
        monkeypatch.setattr(views, "_now_epoch", lambda n=n: start + n * step)
        status = reporter.client.get("/receipt/inbox").status_code
        if start + n * step < start + test_settings.reporter_absolute_minutes * 60:
            assert status == 200
        else:
            assert status == 303
            break
    else:
        pytest.fail("the session never ended")


def test_a_reporter_cannot_download_a_file_of_an_entry_hidden_from_them(app, office, reporter):
    reporter.login(reporter.submit_ok(files=[(io.BytesIO(b"x"), "x.txt")]))
    with app.app_context():
        db = get_session()
        entry = db.query(CaseEntry).one()
        att = db.query(Attachment).one()
        entry.visible_to_reporter = False  # as an internal note with a file would be
        db.commit()
    assert reporter.client.get(f"/receipt/files/{att.id}").status_code == 404


def test_a_message_that_fails_to_save_leaves_no_file_behind(app, office, reporter, test_settings, monkeypatch):
    from app.reporting import service

    reporter.login(reporter.submit_ok())

    def boom(*_a, **_k):
        raise RuntimeError("database went away")

    monkeypatch.setattr(service, "add_reporter_message", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    r = reporter.send("hello", files=[(io.BytesIO(b"evidence"), "e.txt")])
    assert r.status_code == 500
    assert _blobs(test_settings) == []


def test_a_receipt_whose_grant_was_revoked_gets_the_same_error_as_an_unknown_one(app, office, reporter):
    from crypto import receipts

    good = reporter.submit_ok()
    with app.app_context():
        db = get_session()
        grant = db.query(CaseKeyGrant).filter_by(grantee_kind="reporter").one()
        grant.revoked_at = dt.datetime.now(dt.UTC)
        db.commit()
    revoked = reporter.login(good)
    unknown = reporter.login(receipts.format_receipt(receipts.generate_receipt()))
    assert revoked.status_code == unknown.status_code == 400
    message = "No report opens with this receipt code"
    assert message in revoked.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_reporter_actions_are_audited_with_the_day_only(app, office, reporter):
    from app.models.audit import AuditEvent

    reporter.login(reporter.submit_ok())
    reporter.send("A follow-up for the audit test.")
    with app.app_context():
        rows = get_session().query(AuditEvent).filter(AuditEvent.actor_kind == "reporter").order_by(AuditEvent.id).all()
        assert [r.action for r in rows] == ["report.submitted", "reporter.message_sent"]
        assert all((r.at.hour, r.at.minute, r.at.second, r.at.microsecond) == (0, 0, 0, 0) for r in rows)
        assert all(r.actor_user_id is None for r in rows)
