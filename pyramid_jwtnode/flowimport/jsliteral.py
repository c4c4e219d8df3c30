"""Reading a recipe-system function node's JavaScript, without ever evaluating it.

:func:`payload_literal` accepts exactly ``msg.payload = <object literal>[;] return msg[;]``
(comments and white space aside) and returns the literal as Python values: objects with
quoted or bare keys, strings in single or double quotes (with JavaScript's escapes),
numbers (whole-number floats as ints, as ``JSON.stringify`` writes them), ``true``,
``false``, ``null``, arrays, nesting up to 64 levels, trailing commas. Anything else raises
:class:`NotLiteral`: the function needs a hand translation. ``pjwt import-flow`` uses it.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

__all__ = ["NotLiteral", "TOKEN", "payload_literal"]


class NotLiteral(Exception):
    """The JavaScript is more than ``msg.payload = <literal>; return msg;``."""


class _Token:
    """``msg.payload`` in the response function: the token, ``issued.token`` in Python."""

    def __repr__(self) -> str:
        return "issued.token"


TOKEN: Final = _Token()
_IDENT: Final = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_NUMBER: Final = re.compile(
    r"0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+"
    r"|(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_ESCAPES: Final = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v"}
_MAX_DEPTH: Final = 64


class _Literal:
    """Reads ``msg.payload = <object literal>[;] return msg[;]`` and nothing else."""

    def __init__(self, text: str, token: bool) -> None:
        self.text, self.pos, self.token = text, 0, token

    def statement(self) -> Any:
        self.word("msg")
        self.punct(".", required=True)
        self.word("payload")
        self.punct("=", required=True)
        self.skip()
        if self.text.startswith("=", self.pos) or self.peek() != "{":
            raise NotLiteral
        value = self.value(0)
        self.punct(";")
        self.word("return")
        self.word("msg")
        self.punct(";")
        self.skip()
        if self.pos != len(self.text):
            raise NotLiteral
        return value

    def skip(self) -> None:
        text = self.text
        while self.pos < len(text):
            if text[self.pos].isspace() or text[self.pos] == "\ufeff":
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise NotLiteral
                self.pos = end + 2
            else:
                return

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def punct(self, char: str, required: bool = False) -> bool:
        self.skip()
        if self.peek() == char:
            self.pos += 1
            return True
        if required:
            raise NotLiteral
        return False

    def word(self, expected: str | None = None) -> str:
        self.skip()
        match = _IDENT.match(self.text, self.pos)
        if match is None or (expected is not None and match.group() != expected):
            raise NotLiteral
        self.pos = match.end()
        return match.group()

    def value(self, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise NotLiteral
        self.skip()
        char = self.peek()
        if char == "{":
            return self.object(depth)
        if char == "[":
            return self.array(depth)
        if char in ("'", '"'):
            return self.string()
        if char and char in "+-.0123456789":
            return self.number(signed=True)
        word = self.word()
        if word in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[word]
        if word == "msg" and self.token:
            self.punct(".", required=True)
            self.word("payload")
            return TOKEN
        raise NotLiteral

    def object(self, depth: int) -> dict[str, Any]:
        self.pos += 1
        found: dict[str, Any] = {}
        while not self.punct("}"):
            self.skip()
            char = self.peek()
            if char in ("'", '"'):
                key = self.string()
            elif char.isdigit() or char == ".":
                number = self.number(signed=False)
                if not isinstance(number, int):
                    raise NotLiteral
                key = str(number)
            else:
                key = self.word()
            if key == "__proto__":  # sets the prototype in a literal: no property, no claim
                raise NotLiteral
            self.punct(":", required=True)
            found[key] = self.value(depth + 1)  # JavaScript: the last value, the first place
            if not self.punct(","):
                self.punct("}", required=True)
                break
        return found

    def array(self, depth: int) -> list[Any]:
        self.pos += 1
        items: list[Any] = []
        while not self.punct("]"):
            if self.peek() == ",":  # a hole
                raise NotLiteral
            items.append(self.value(depth + 1))
            if not self.punct(","):
                self.punct("]", required=True)
                break
        return items

    def number(self, signed: bool) -> int | float:
        sign = 1
        if signed and self.peek() in "+-":
            sign = -1 if self.peek() == "-" else 1
            self.pos += 1
            self.skip()
        match = _NUMBER.match(self.text, self.pos)
        if match is None:
            raise NotLiteral
        self.pos = match.end()
        if self.peek() and (self.peek().isalnum() or self.peek() in "_$."):
            raise NotLiteral  # 1_000, 10n, 08, 1.2.3
        text = match.group()
        value = sign * (float(int(text, 0)) if text[:2].lower() in ("0x", "0o", "0b")
                        else float(text))
        if not math.isfinite(value):
            raise NotLiteral
        # JavaScript has one number type; JSON.stringify writes integral ones as integers.
        return int(value) if value.is_integer() and abs(value) < 1e21 else value

    def string(self) -> str:
        quote, text = self.peek(), self.text
        self.pos += 1
        out: list[str] = []
        while True:
            if self.pos >= len(text) or text[self.pos] in "\r\n":
                raise NotLiteral
            char = text[self.pos]
            self.pos += 1
            if char == quote:
                break
            if char != "\\":
                out.append(char)
                continue
            out.append(self.escape())
        joined = "".join(out)
        # \uD83D\uDE00 written as two escapes is one character, as in JavaScript.
        return joined.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")

    def escape(self) -> str:
        text = self.text
        if self.pos >= len(text):
            raise NotLiteral
        char = text[self.pos]
        self.pos += 1
        if char in _ESCAPES:
            return _ESCAPES[char]
        if char == "0" and not text[self.pos:self.pos + 1].isdigit():
            return "\0"
        if char in "xu":
            if char == "u" and text.startswith("{", self.pos):
                end = text.find("}", self.pos)
                digits = text[self.pos + 1:end] if end > 0 else ""
                self.pos = end + 1
            else:
                size = 2 if char == "x" else 4
                digits = text[self.pos:self.pos + size]
                self.pos += size
                if len(digits) != size:
                    raise NotLiteral
            if not re.fullmatch(r"[0-9a-fA-F]{1,6}", digits) or int(digits, 16) > 0x10FFFF:
                raise NotLiteral
            return chr(int(digits, 16))
        if char in "\n\u2028\u2029":  # a line continuation
            return ""
        if char == "\r":
            if text.startswith("\n", self.pos):
                self.pos += 1
            return ""
        if char.isalnum():  # octal escapes and the like
            raise NotLiteral
        return char


def payload_literal(func: str, token: bool = False) -> Any:
    """What ``func`` assigns to ``msg.payload``, if that is all it does; else ``NotLiteral``."""
    return _Literal(func, token).statement()
