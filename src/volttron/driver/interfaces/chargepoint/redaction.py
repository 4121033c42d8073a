"""Finding the password in text however it came back: raw, XML-escaped, URL-encoded, backslash-escaped, base64.

A server may quote our request back (in a fault, a responseText, an error page, a redirect), escaped once or twice,
with any mix of character references; a proxy may echo a Basic authorisation header. One regular expression per
secret matches every such spelling character by character, so a mixed spelling (``P&#119;&#x2D;...``) is found as
surely as the raw one. A cheap test for the characters every non-raw spelling needs keeps the common case fast.
"""

from __future__ import annotations

import base64
import re
from typing import Any

MASK = "***"
_NAMED = {'"': "quot", "'": "apos", "&": "amp", "<": "lt", ">": "gt"}
# How an "&" may itself come back: raw, or escaped (repeatedly) by a server that quoted an already escaped text.
_AMPERSAND = r"&(?:amp;|#0{0,8}38;|#[xX]0{0,8}26;){0,4}"
_MAX_CHARACTER_SPELLING = 64  # longest spelling the expression below admits for one character
# Characters without which only the raw spelling is possible: the prefilter looks for these first.
_ESCAPE_MARKS = ("&", "%", "\\")


def _hex(value: int, width: int = 0) -> str:
    """Hex digits of ``value`` matched in either case."""
    return "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in f"{value:0{width}x}")


def _spellings(char: str) -> list[str]:
    """Every way one character of a secret can appear in a text that quotes it (as regular expressions)."""
    code = ord(char)
    utf8 = char.encode("utf-8")
    found = [re.escape(char),
             f"{_AMPERSAND}#0{{0,8}}{code};", f"{_AMPERSAND}#[xX]0{{0,8}}{_hex(code)};",
             "".join(f"%{_hex(byte, 2)}" for byte in utf8),
             rf"\\U{_hex(code, 8)}" if code > 0xFFFF else rf"\\u{_hex(code, 4)}",
             rf"\\{re.escape(char)}"]
    if char in _NAMED:
        found.append(f"{_AMPERSAND}{_NAMED[char]};")
    if code < 0x100:
        found.append(rf"\\x{_hex(code, 2)}")
    if code > 0xFFFF:  # JSON spells it as a surrogate pair
        high, low = divmod(code - 0x10000, 0x400)
        found.append(rf"\\u{_hex(0xD800 + high, 4)}\\u{_hex(0xDC00 + low, 4)}")
    if len(utf8) > 1:
        found.append("".join(rf"\\x{_hex(byte, 2)}" for byte in utf8))  # repr of the UTF-8 bytes
    if char == " ":
        found.append(r"\+")  # form encoding
    return found


def _pattern(secret: str) -> str:
    return "".join(f"(?:{'|'.join(_spellings(char))})" for char in secret)


class Redactor:
    """Masks one password, in every spelling, in texts; holds nothing printable (its repr says nothing)."""

    __slots__ = ("_pattern", "_marks", "_byte_marks", "_longest")

    def __init__(self, password: str, username: str = "") -> None:
        secrets = [password] if password else []
        if password:
            for raw in {f"{username}:{password}", password}:
                data = raw.encode("utf-8")
                # Longest first, so that padding goes with its base64 text.
                secrets += sorted({base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode(),
                                   base64.b64encode(data).decode().rstrip("=")}, key=len, reverse=True)
        self._pattern = re.compile("|".join(_pattern(s) for s in secrets)) if secrets else None
        marks = set(secrets) | (set(_ESCAPE_MARKS) if secrets else set())
        if " " in password:
            marks.add("+")
        self._marks = tuple(marks)
        self._byte_marks = tuple(mark.encode("utf-8") for mark in marks)
        self._longest = max((len(s) for s in secrets), default=0) * _MAX_CHARACTER_SPELLING

    def __call__(self, text: str) -> str:
        """``text`` with every spelling of the password replaced by ``***``."""
        if self._pattern is None or not any(mark in text for mark in self._marks):
            return text
        return self._pattern.sub(MASK, text)

    def shortened(self, text: str, limit: int) -> str:
        """The first ``limit`` characters of ``text``, redacted; a spelling cut by the limit is masked whole."""
        if len(text) <= limit:
            return self(text)
        window = text[:limit + self._longest]
        if self._pattern is None or not any(mark in window for mark in self._marks):
            return text[:limit] + f"... ({len(text)} characters in all)"
        parts: list[str] = []
        position = 0
        for match in self._pattern.finditer(window):
            if match.start() >= limit:
                break
            parts += [window[position:match.start()], MASK]
            position = match.end()
        if position < limit:
            parts.append(window[position:limit])
        return "".join(parts) + f"... ({len(text)} characters in all)"

    def may_be_in(self, data: bytes) -> bool:
        """False only when UTF-8 (or ASCII) ``data`` cannot hold any spelling of the password."""
        if self._pattern is None:
            return False
        if not _utf8_compatible(data):
            return True
        return any(mark in data for mark in self._byte_marks)

    def __repr__(self) -> str:
        return "Redactor(***)"

    def __reduce__(self) -> Any:
        raise TypeError("Redactor cannot be pickled")


_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8 = {"utf-8", "utf8", "us-ascii", "ascii"}


def xml_encoding(data: bytes) -> str:
    """The encoding an XML document is in, as XML says to tell it: byte-order mark, zero bytes, declaration."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    if b"\x00" in data[:4]:
        return "utf-16-be" if data[:1] == b"\x00" else "utf-16-le"
    declared = _DECLARED.match(data[:200])
    return declared.group(1).decode("ascii").lower().replace("_", "-") if declared else "utf-8"


def _utf8_compatible(data: bytes) -> bool:
    return xml_encoding(data) in _UTF8
