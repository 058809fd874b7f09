"""The ``field`` macro: labels, help and errors tied to the control for screen readers."""

from __future__ import annotations

import re

import pytest
from flask import render_template_string
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, Form, HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

TEMPLATE = """{% from "macros/forms.html" import field, form_errors %}
{{ form_errors(form) }}{% for f in form %}{{ field(f, **extra.get(f.name, {})) }}{% endfor %}"""


class ExampleForm(Form):
    title = StringField("Title", validators=[DataRequired(message="Give a title.")], description="A few words.")
    body = TextAreaField("What happened", validators=[Length(max=5)])
    agree = BooleanField("I agree", validators=[DataRequired(message="Please agree.")])
    kind = RadioField(
        "Kind", choices=[SelectChoice("a", "A"), SelectChoice("b", "B")], validators=[DataRequired(message="Pick one.")]
    )
    token = HiddenField()


def _render(app, data=None, extra=None) -> str:
    form = ExampleForm(MultiDict(data or {}))
    if data is not None:
        form.validate()
    with app.test_request_context("/"):
        return render_template_string(TEMPLATE, form=form, extra=extra or {})


def test_each_visible_field_has_a_label_pointing_at_it(app):
    html = _render(app)
    for name in ("title", "body", "agree"):
        assert f'<label class="field-label" for="{name}">' in html
    assert "<legend" in html and "Kind" in html
    assert 'id="token"' in html and 'for="token"' not in html


def test_help_text_is_tied_to_the_field(app):
    html = _render(app)
    assert 'id="title-help"' in html
    assert re.search(r'<input[^>]*aria-describedby="title-help"[^>]*id="title"', html)


def test_a_valid_untouched_field_is_not_marked_invalid(app):
    html = _render(app)
    assert "aria-invalid" not in html
    assert "form-errors" not in html


def test_errors_are_shown_and_tied_to_the_field(app):
    html = _render(app, data={"body": "far too long"})
    assert 'id="title-error"' in html and "Give a title." in html
    title_input = re.search(r'<input[^>]*id="title"[^>]*>', html)
    assert title_input
    assert 'aria-invalid="true"' in title_input.group(0)
    assert 'aria-describedby="title-help title-error"' in title_input.group(0)
    body_input = re.search(r"<textarea[^>]*>", html)
    assert body_input and 'aria-describedby="body-error"' in body_input.group(0)
    assert 'id="agree-error"' in html and "Please agree." in html
    assert re.search(r'<fieldset[^>]*aria-describedby="kind-error"', html)


def test_the_error_summary_links_to_each_field(app):
    html = _render(app, data={"body": "far too long"})
    assert 'role="alert"' in html
    assert 'href="#title"' in html and 'href="#agree"' in html


def test_required_fields_say_so(app):
    html = _render(app)
    assert "required" in html  # the attribute and the visible marker
    assert re.search(r'<input[^>]*id="title"[^>]*required', html) or re.search(
        r'<input[^>]*required[^>]*id="title"', html
    )


@pytest.mark.parametrize("extra", [{"title": {"class_": "wide", "autocomplete": "off"}}])
def test_extra_arguments_reach_the_widget(app, extra):
    html = _render(app, extra=extra)
    title_input = re.search(r'<input[^>]*id="title"[^>]*>', html)
    assert title_input
    assert 'class="field-input wide"' in title_input.group(0)
    assert 'autocomplete="off"' in title_input.group(0)
