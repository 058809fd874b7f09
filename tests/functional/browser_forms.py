"""Forms read from a rendered page and sent back the way a browser sends them.

Tests that post a hand-built dict miss what the page really carries: a
duplicated hidden field, a file field left empty (browsers still send an
empty part with ``filename=""``). :func:`forms_in` collects every form's
successful controls in page order; :meth:`PageForm.send` posts exactly those.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict


@dataclass
class Control:
    """One form control: its name, value, type and whether the browser would send it."""

    tag: str
    type: str
    name: str
    value: str
    checked: bool = False
    seen_option: bool = False


@dataclass
class PageForm:
    """A form as the page renders it."""

    action: str
    method: str
    enctype: str
    controls: list[Control] = field(default_factory=list)

    def names(self, type_: str) -> list[str]:
        """Names of the controls of one input type, in page order (with repeats)."""
        return [c.name for c in self.controls if c.type == type_]

    def values(self, name: str) -> list[str]:
        """What the browser would send under ``name``, in page order."""
        return [value for key, value in self.fields() if key == name]

    def fill(self, **values: str) -> PageForm:
        """Type into text fields, pick a radio or select value, tick a checkbox, as a person would."""
        for name, value in values.items():
            matched = False
            for c in self.controls:
                if c.name != name:
                    continue
                if c.type in ("radio", "checkbox"):
                    if c.type == "radio":
                        c.checked = c.value == value
                    elif c.value == value:
                        c.checked = True
                    matched = matched or c.value == value
                else:
                    c.value, matched = value, True
            assert matched, f"the page has no control {name}={value!r}"
        return self

    def _sent(self, c: Control) -> bool:
        if c.type in ("radio", "checkbox") and not c.checked:
            return False
        return bool(c.name) and c.type not in ("submit", "button", "reset", "image", "file")

    def fields(self) -> list[tuple[str, str]]:
        """The successful controls other than files, in page order, as the browser encodes them."""
        return [(c.name, c.value) for c in self.controls if self._sent(c)]

    def send(self, client, files: dict[str, list[tuple[bytes, str]]] | None = None):
        """Post the form: every control in page order, a file field left empty as an empty part."""
        pairs: list[tuple[str, str | tuple[bytes, str]]] = []
        chosen = files or {}
        for c in self.controls:
            if c.type == "file" and c.name:
                pairs.extend((c.name, f) for f in chosen.get(c.name) or [(b"", "")])
            elif self._sent(c):
                pairs.append((c.name, c.value))
        if self.enctype != "multipart/form-data":
            assert not files
            return client.post(self.action, data=MultiDict(pairs))
        boundary = "haechi-test-" + secrets.token_hex(8)
        body = b"".join(_part(boundary, name, value) for name, value in pairs) + f"--{boundary}--\r\n".encode()
        return client.post(self.action, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _part(boundary: str, name: str, value: str | tuple[bytes, str]) -> bytes:
    """One part of a multipart body, as browsers write it (a file field left empty: filename="")."""
    if isinstance(value, tuple):
        content, filename = value
        head = (
            f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
    else:
        content, head = value.encode(), f'Content-Disposition: form-data; name="{name}"\r\n\r\n'
    return f"--{boundary}\r\n{head}".encode() + content + b"\r\n"


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._textarea: Control | None = None
        self._select: Control | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = PageForm(
                a.get("action", ""),
                a.get("method", "get").lower(),
                a.get("enctype", "application/x-www-form-urlencoded"),
            )
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            default = "on" if kind in ("checkbox", "radio") else ""
            self._form.controls.append(
                Control(tag, kind, a.get("name", ""), a.get("value", default), checked="checked" in a)
            )
        elif tag == "textarea":
            self._textarea = Control(tag, "textarea", a.get("name", ""), "")
            self._form.controls.append(self._textarea)
        elif tag == "select":
            self._select = Control(tag, "select", a.get("name", ""), "")
            self._form.controls.append(self._select)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if "selected" in a or not self._select.seen_option:
                self._select.value = value
                self._select.seen_option = True
        elif tag == "button" and a.get("name"):
            self._form.controls.append(Control(tag, "submit", a["name"], a.get("value", "")))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the single newline that may follow <textarea>.
            self._textarea.value = self._textarea.value.removeprefix("\n")
            self._textarea = None
        elif tag == "select":
            self._select = None


def forms_in(html: str) -> list[PageForm]:
    """Every form of a page, its controls in page order."""
    parser = _Parser()
    parser.feed(html)
    return parser.forms


def form_posting_to(html: str, action_end: str) -> PageForm:
    """The first form of the page whose action ends with ``action_end``."""
    for form in forms_in(html):
        if form.method == "post" and form.action.endswith(action_end):
            return form
    raise AssertionError(f"no form posts to {action_end}")
