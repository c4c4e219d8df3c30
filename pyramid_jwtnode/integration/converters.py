"""Reading one setting's value: an ini string or a native value in, a checked value out.

Each converter is a small frozen object: calling it converts or raises
:class:`Invalid` with the problem and the fix (never the value); its ``kind`` is
the type the settings reference shows. Blank ini text means "not set" and never
reaches a converter. :mod:`pyramid_jwtnode.integration.settings` declares which setting
uses which.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import re
from collections.abc import Callable, Iterable
from typing import Any, Final

from pyramid.path import DottedNameResolver
from pyramid.settings import aslist, falsey, truthy

from ..jose.jwks import url_problem

__all__ = ["Invalid", "Text", "Number", "Flag", "Words", "Choice", "Dotted", "Url", "url_problem"]


class Invalid(Exception):
    """A value a converter refuses; the settings parser adds the setting's name."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


@dataclasses.dataclass(frozen=True)
class Text:
    """Text, stripped; when ``pattern`` is given the whole text must match it."""

    pattern: str | None = None
    problem: str = ""
    fix: str = ""
    kind: str = "text"

    def __call__(self, value: Any) -> str | None:
        if not isinstance(value, str):
            raise Invalid("must be text", "give a string")
        text = value.strip()
        if text and self.pattern is not None and not re.fullmatch(self.pattern, text):
            raise Invalid(self.problem, self.fix)
        return text or None


@dataclasses.dataclass(frozen=True)
class Number:
    """A whole number from ``low`` to ``high`` (ini digits, or an int but not a bool); with
    ``decimal``, a decimal number too (``0.5``)."""

    low: float
    high: float | None = None
    problem: str = ""
    fix: str = "give e.g. 3600"
    kind: str = "int"
    decimal: bool = False

    def __call__(self, value: Any) -> Any:
        number: float
        if isinstance(value, str) and re.fullmatch(
                r"\s*-?\d+(\.\d+)?\s*" if self.decimal else r"\s*-?\d+\s*", value):
            number = float(value) if self.decimal else int(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif self.decimal and isinstance(value, float) and math.isfinite(value):
            number = value
        else:
            raise Invalid("must be a number" if self.decimal else "must be a whole number", self.fix)
        if number < self.low:
            raise Invalid("must be greater than zero" if self.low == 1 else
                          f"must be {self.low} or more", self.fix)
        if self.high is not None and number > self.high:
            raise Invalid(self.problem or f"must be {self.high} or less", self.fix)
        return number


@dataclasses.dataclass(frozen=True)
class Flag:
    """true or false, in Pyramid's spellings (``pyramid.settings.truthy``/``falsey``)."""

    kind: str = "bool"

    def __call__(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = value.strip().lower() if isinstance(value, str) else None
        if text in truthy or text in falsey:
            return text in truthy
        raise Invalid("must be true or false", "give true or false")


@dataclasses.dataclass(frozen=True)
class Words:
    """One or more words: ini text split on white space, or a list of strings; with
    ``choices``, each word one of them, none twice."""

    choices: tuple[str, ...] | None = None
    kind: str = "words"

    def __call__(self, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            words = tuple(aslist(value))
        elif isinstance(value, Iterable) and all(isinstance(v, str) for v in value):
            words = tuple(v.strip() for v in value if v.strip())
        else:
            raise Invalid("must be one or more words", "give names separated by spaces or new lines")
        if self.choices is not None:
            if any(word not in self.choices for word in words) or len(set(words)) != len(words):
                raise Invalid(f"must be one or more of {', '.join(self.choices)}",
                              f"give e.g. {' '.join(self.choices)}")
        return words


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of ``options`` (compared in upper case when ``fold``); ``noun`` names what it is."""

    options: tuple[str, ...]
    fix: str
    noun: str = "value"
    fold: bool = False
    kind: str = "choice"

    def __call__(self, value: Any) -> str:
        text = Text()(value) or ""
        text = text.upper() if self.fold else text
        if text in self.options:
            return text
        if text.lower() == "none" and self.noun == "algorithm":
            raise Invalid("may not be 'none': unsigned tokens are never accepted", self.fix)
        close = [o for o in self.options if o.lower() == text.lower()]
        raise Invalid(f"is not a supported {self.noun}",
                      f"{self.noun} names are case-sensitive: write {close[0]}" if close else self.fix)


_resolver: Final = DottedNameResolver(None)


def _missing_part(name: str, exc: BaseException) -> str:
    """Which part of a dotted name could not be found: a module, or an attribute of one."""
    if getattr(exc, "name", None):  # ModuleNotFoundError and AttributeError know it
        return str(getattr(exc, "name"))
    module, colon, attribute = name.partition(":")
    if colon:
        try:
            importlib.import_module(module)
        except ImportError as inner:
            return inner.name or module
        return attribute
    return name


@dataclasses.dataclass(frozen=True)
class Dotted:
    """A callable, or the dotted name of one (``package.module:function``)."""

    fix: str = "point it at a function taking the request"
    kind: str = "callable"

    def __call__(self, value: Any) -> Callable[..., Any]:
        if isinstance(value, str):
            name = value.strip()
            if not name.partition(":")[0].strip(".") or name.startswith("."):
                raise Invalid("is not an absolute dotted name",
                              "give one such as myapp.auth:payload, importable by the app")
            try:
                value = _resolver.resolve(name)
            except (ImportError, AttributeError, ValueError) as exc:
                missing = _missing_part(name, exc)
                raise Invalid(
                    f"names something that cannot be imported ({type(exc).__name__}: "
                    f"{missing!r} not found)",
                    "give an absolute dotted name such as myapp.auth:payload, importable by the app",
                ) from None
        if not callable(value):
            raise Invalid("does not name a callable", self.fix)
        return value  # type: ignore[no-any-return]


@dataclasses.dataclass(frozen=True)
class Url:
    """An https:// URL (plain http only to a loopback host)."""

    kind: str = "url"

    def __call__(self, value: Any) -> str | None:
        text = Text()(value)
        if text is not None:
            problem = url_problem(text)
            if problem is not None:
                raise Invalid(problem, "give e.g. https://idp.example/.well-known/jwks.json")
        return text
