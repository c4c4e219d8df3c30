"""What may go into a log line: URLs without their credentials, and values a client chose,
capped and escaped.

Log lines name what failed (the key set URL, the Redis address, the issuer a token carried), so
an operator can act on them; they never hold a password, a token, or a control character that
would forge a second log line. Every tier may use it, as it uses :mod:`pyramid_jwtnode.exceptions`;
it imports nothing of the package and nothing of Pyramid.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any, Final

__all__ = ["safe_url", "shown", "compared", "MAX_SHOWN"]

#: The longest value a log line quotes; a longer one is cut and ends in "...".
MAX_SHOWN: Final = 80
_MASKED: Final = "***"
# Query parameters whose values may be credentials, by name (case-insensitive, percent-decoded).
_SECRET_NAME: Final = re.compile(r"pass|secret|key|token|sig|cred|auth|code", re.IGNORECASE)
# What looks like a compact JWS/JWE or a part of one: base64url JSON starts with "eyJ".
_TOKENISH: Final = re.compile(r"eyJ[A-Za-z0-9_.-]*")


def shown(value: Any, limit: int = MAX_SHOWN, *, quote: bool = True) -> str:
    """``value`` as a log line may quote it: JSON (a string in double quotes, control and
    non-ASCII characters escaped), anything that looks like a token replaced by ``[token]`` (a
    client may put one where a claim belongs), at most ``limit`` characters, then ``...``.
    ``quote=False`` shows a string without its quotes (still escaped)."""
    try:
        text = json.dumps(value, ensure_ascii=True, default=lambda o: f"<{type(o).__name__}>")
    except (ValueError, RecursionError):  # a cycle
        text = f"<{type(value).__name__}>"
    if not quote and isinstance(value, str):
        text = text[1:-1]
    text = _TOKENISH.sub("[token]", text)
    return text if len(text) <= limit else text[:limit] + "..."


def safe_url(url: str) -> str:
    """``url`` without its user name and password, the values of query parameters that may be
    credentials (``password``, ``api_key``, ``token``, ``X-Amz-Signature``...) masked, and no
    fragment; then :func:`shown`. Never raises: what cannot be parsed is ``<unparsable URL>``."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # a bracket that does not close
        return "<unparsable URL>"
    netloc = parts.netloc.rpartition("@")[2]  # also a list of hosts (Redis Sentinel)
    query = "&".join(
        f"{name}={_MASKED}" if _SECRET_NAME.search(urllib.parse.unquote_plus(name)) else
        (f"{name}={value}" if sep else name)
        for name, sep, value in (item.partition("=") for item in parts.query.split("&") if item))
    text = f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else f"{netloc}{parts.path}"
    return shown(f"{text}?{query}" if query else text, 160, quote=False)


def compared(expected: Any, seen: Any) -> str:
    """``"; expected <x>, seen <y>"`` for a refusal that compared two values, each
    :func:`shown`; ``""`` when nothing was expected."""
    if expected is None:
        return ""
    return f"; expected {shown(expected)}, seen {shown(seen)}"
