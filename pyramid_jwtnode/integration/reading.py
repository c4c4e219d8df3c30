"""Reading what a client sent, before anything trusts it: body size, form and query.

Every add-on endpoint faces the open internet. A body over the config's
``max_body_bytes`` is refused before it is read to the end (unless something before the
view, a tween or the debug toolbar, read it already: the add-on then reads WebOb's copy from
its start, with the same limits); a form is parsed
only when it is ``application/x-www-form-urlencoded`` or ``multipart/form-data``
in UTF-8, with text fields only; a query string must decode. Any other shape is a
:class:`RequestProblem` that the views answer with a 4xx, never a 500, and once a
form or query has passed here, ``request.POST`` and ``request.GET`` hold plain text
for the payload callable too.
"""

from __future__ import annotations

import urllib.parse
from typing import Any, Final

from pyramid.request import Request

__all__ = ["RequestProblem", "check_body", "read_form", "read_query"]

_CHECKED: Final = "pyramid_jwtnode.form_checked"
FORM_TYPES: Final = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_UTF8: Final = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


class RequestProblem(Exception):
    """The request's shape is refused; ``problem`` names the answer in :mod:`.responses`."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _declared_length(request: Request) -> int | None:
    text = request.environ.get("CONTENT_LENGTH")
    if text is None or text == "":
        return None
    if not (isinstance(text, str) and text.isascii() and text.strip().isdigit()):
        raise RequestProblem("malformed")
    return int(text)


def check_body(request: Request, max_bytes: int) -> None:
    """Refuse (413) a body declared larger than ``max_bytes``, before reading any of it."""
    length = _declared_length(request)
    if length is not None and length > max_bytes:
        raise RequestProblem("too_large")


def _read_body(request: Request, max_bytes: int) -> bytes:
    """The whole body, at most ``max_bytes``; a body shorter than declared is refused."""
    length = _declared_length(request)
    stream: Any = request.environ.get("wsgi.input")
    if stream is None:
        return b""
    if request.environ.get("webob.is_body_seekable") and getattr(stream, "seekable", lambda: False)():
        # Something before the view has read the body through WebOb (a tween, the debug
        # toolbar, Pyramid's CSRF check): WebOb holds a copy of it (and has set CONTENT_LENGTH
        # to its length), and may have left the stream anywhere in it.
        stream.seek(0)
    if length is None:
        chunked = request.environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
        if not (chunked or request.environ.get("wsgi.input_terminated")):
            return b""  # no length and no end marker: WSGI says there is no body to read
        data = stream.read(max_bytes + 1)
    elif length > max_bytes:
        raise RequestProblem("too_large")
    else:
        data = stream.read(length) if length else b""
        if len(data) != length:
            raise RequestProblem("malformed")
    if len(data) > max_bytes:
        raise RequestProblem("too_large")
    return bytes(data)


def _content_type(request: Request) -> tuple[str, str | None]:
    """The content type in lower case, and its charset parameter if any."""
    header = request.environ.get("CONTENT_TYPE", "") or ""
    kind, *params = header.split(";")
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return kind.strip().lower(), charset


def read_form(request: Request, max_bytes: int) -> Any:
    """``request.POST`` once it is known to be a small UTF-8 form of text fields."""
    if request.environ.get(_CHECKED):
        return request.POST
    body = _read_body(request, max_bytes)
    request.body = body  # seekable and of the declared length from now on
    kind, charset = _content_type(request)
    if charset is not None and charset not in _UTF8:
        raise RequestProblem("charset")
    if body and kind not in FORM_TYPES:
        raise RequestProblem("json" if kind == "application/json" or kind.endswith("+json")
                             else "content_type")
    try:  # even an empty body is parsed: WebOb refuses an empty multipart body
        form = request.POST
        fields = list(form.items())
    except Exception:  # noqa: BLE001 - WebOb and cgi raise many types on malformed bytes;
        # only the client's body can fail here, and the client gets a 400 for it
        raise RequestProblem("malformed") from None
    if not all(isinstance(key, str) and isinstance(value, str) for key, value in fields):
        raise RequestProblem("not_text")
    if not _utf8(body, kind):  # WebOb would hand the view U+FFFD for each bad byte
        raise RequestProblem("charset")
    request.environ[_CHECKED] = True
    return form


def _utf8(body: bytes, kind: str) -> bool:
    """True when a form of text fields is UTF-8 throughout: its bytes, and for an urlencoded
    form the bytes its %XX escapes stand for. (A multipart form of text fields is UTF-8
    exactly when its whole body is: its framing is ASCII.)"""
    try:
        text = body.decode("utf-8")
        if kind == "application/x-www-form-urlencoded":
            urllib.parse.parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def read_query(request: Request) -> Any:
    """``request.GET`` once it is known to decode as UTF-8."""
    if not request.environ.get("QUERY_STRING"):
        return request.GET
    try:
        query = request.GET
        list(query.items())
    except (UnicodeError, ValueError):
        raise RequestProblem("malformed_query") from None
    return query
