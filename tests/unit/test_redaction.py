"""Redaction: the password is masked in every spelling a server could quote it back in, alone or mixed, and
nothing else is touched."""
from __future__ import annotations

import base64
import html
import json
import pickle
import re
import urllib.parse

import pytest

from volttron.driver.interfaces.chargepoint.redaction import Redactor, xml_encoding

USERNAME = "LICENSE-KEY-0123"
# Every character that XML, URLs or JSON escape, a non-ASCII letter and a space.
PASSWORDS = ["Pw \"q' & <tü> 7z", "a&b", "plain-secret-123", "emoji-\U0001F600-pw"]


def _mixed(text: str) -> str:
    return "".join((f"&#{ord(c)};", f"&#x{ord(c):X};", html.escape(c, quote=True), c if c not in "&<>\"'" else
                    f"&#{ord(c)};")[i % 4] for i, c in enumerate(text))


SPELLINGS = {
    "raw": lambda pw: pw,
    "named entities": lambda pw: html.escape(pw, quote=True).replace("&#x27;", "&apos;"),
    "decimal references": lambda pw: "".join(f"&#{ord(c)};" for c in pw),
    "decimal references with zeros": lambda pw: "".join(f"&#000{ord(c)};" for c in pw),
    "hex references": lambda pw: "".join(f"&#x{ord(c):x};" for c in pw),
    "upper-case hex references": lambda pw: "".join(f"&#x{ord(c):X};" for c in pw),
    "mixed references": _mixed,
    "escaped twice": lambda pw: html.escape(html.escape(pw)),
    "references escaped again": lambda pw: "".join(f"&amp;#{ord(c)};" for c in pw),
    "URL-encoded": lambda pw: urllib.parse.quote(pw, safe=""),
    "form-encoded": lambda pw: urllib.parse.quote_plus(pw),
    "lower-case URL-encoded": lambda pw: re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(),
                                                urllib.parse.quote(pw, safe="")),
    "JSON": lambda pw: json.dumps(pw)[1:-1],
    "JSON, ASCII only": lambda pw: json.dumps(pw, ensure_ascii=True)[1:-1],
    "repr": lambda pw: repr(pw)[1:-1],
    "repr of the UTF-8 bytes": lambda pw: repr(pw.encode())[2:-1],
    "base64 of user:password": lambda pw: base64.b64encode(f"{USERNAME}:{pw}".encode()).decode(),
    "base64 of user:password, unpadded": lambda pw: base64.b64encode(f"{USERNAME}:{pw}".encode()).decode()
    .rstrip("="),
    "URL-safe base64 of user:password": lambda pw: base64.urlsafe_b64encode(f"{USERNAME}:{pw}".encode()).decode(),
    "base64 of the password": lambda pw: base64.b64encode(pw.encode()).decode(),
}


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_every_spelling_of_the_password_is_masked(spelling, password):
    quoted = SPELLINGS[spelling](password)
    redact = Redactor(password, USERNAME)
    assert redact(f"rejected: {quoted} (see log)") == "rejected: *** (see log)"


@pytest.mark.parametrize("text", ["nothing to see & nothing to hide at 100%", "a\\b", "P&amp;w",
                                  "<faultstring>UsernameToken processing failed</faultstring>"])
def test_text_without_the_password_is_unchanged(text):
    assert Redactor(PASSWORDS[0], USERNAME)(text) == text


def test_an_empty_password_masks_nothing():
    assert Redactor("", USERNAME)("anything at all & more") == "anything at all & more"


@pytest.mark.parametrize("cut", [3, 10, 20, 60])
def test_a_shortened_text_masks_a_spelling_cut_by_the_limit_whole(cut):
    password = PASSWORDS[0]
    text = "x" * 10 + SPELLINGS["decimal references"](password) + "y" * 100
    shortened = Redactor(password, USERNAME).shortened(text, cut)
    assert "&#" not in shortened[10:] and shortened.startswith("x" * min(cut, 10))
    assert f"({len(text)} characters in all)" in shortened


def test_a_short_text_is_only_redacted():
    redact = Redactor("secret-value", USERNAME)
    assert redact.shortened("a secret-value b", 100) == "a *** b"


@pytest.mark.parametrize(("body", "may"), [
    (b"<a>plain answer</a>", False),
    (b"<a>Company &amp; Co</a>", True),  # a reference could spell anything
    ("<a>Pw \"q' & <tü> 7z</a>".encode(), True),
    ("<?xml version='1.0' encoding='ISO-8859-1'?><a>plain</a>".encode(), True),  # other encodings: cannot tell
    ("<a>plain</a>".encode("utf-16"), True),
])
def test_the_prefilter_only_skips_answers_that_cannot_hold_the_password(body, may):
    assert Redactor(PASSWORDS[0], USERNAME).may_be_in(body) is may


@pytest.mark.parametrize(("data", "encoding"), [
    (b"<a/>", "utf-8"), (b"<?xml version='1.0' encoding='Latin_1'?><a/>", "latin-1"),
    ("<a/>".encode("utf-16"), "utf-16"), ("<a/>".encode("utf-16-le"), "utf-16-le"),
    ("<a/>".encode("utf-16-be"), "utf-16-be"),
])
def test_the_encoding_of_an_answer_is_told_as_xml_says(data, encoding):
    assert xml_encoding(data) == encoding


def test_a_redactor_shows_nothing_and_cannot_be_pickled():
    redact = Redactor("hunter2-secret", USERNAME)
    assert "hunter2" not in repr(redact) and "hunter2" not in str(redact)
    with pytest.raises(TypeError):
        pickle.dumps(redact)
