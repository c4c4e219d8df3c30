"""Bounds and names the issuer and the verifier share, so we never issue what we would refuse."""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = [
    "MAX_NUMERIC_DATE",
    "MAX_JSON_DEPTH",
    "MAX_HEADER_SEGMENT",
    "REFRESH_TYP",
    "REGISTERED_CLAIMS",
    "RESERVED_CLAIMS",
    "shallow",
    "repeated_names",
]

#: The largest NumericDate written or accepted: 9999-12-31T23:59:59Z.
MAX_NUMERIC_DATE: Final = 253402300799

#: Deepest nesting of arrays and objects in a header or a claim set.
MAX_JSON_DEPTH: Final = 16

#: Longest base64url header segment the verifier decodes (a header holds alg, typ, kid).
MAX_HEADER_SEGMENT: Final = 2048

#: Header ``typ`` of refresh tokens; access-token verification refuses it (RFC 8725 §3.12).
REFRESH_TYP: Final = "rt+jwt"

#: Claims the issuer sets from configuration; a payload may not carry them.
REGISTERED_CLAIMS: Final = frozenset({"iat", "exp", "nbf", "iss", "aud", "jti"})

#: Claims the add-on itself relies on: the registered ones, a refresh family's id and
#: payload, and the CSRF value of cookie-borne tokens. A payload may not carry them either,
#: so it cannot join another login's family or choose its own CSRF value.
RESERVED_CLAIMS: Final = REGISTERED_CLAIMS | frozenset({"fam", "pld", "csrf"})



def shallow(value: dict[str, Any] | list[Any] | tuple[Any, ...]) -> bool:
    """True when no array or object lies deeper than :data:`MAX_JSON_DEPTH` (the top counts)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        container, depth = stack.pop()
        for child in container.values() if isinstance(container, dict) else container:
            if isinstance(child, (dict, list, tuple)):
                if depth >= MAX_JSON_DEPTH:
                    return False
                stack.append((child, depth + 1))
    return True


_CONTAINERS: Final = (dict, list, tuple)


def repeated_names(value: dict[str, Any] | list[Any] | tuple[Any, ...]) -> bool:
    """True when ``value`` written as JSON holds an object with two members of one name: keys
    that are not strings become strings on the way (``1`` and ``"1"``, ``None`` and
    ``"null"``), and the verifier refuses repeated names (RFC 7519 §4). About 1 µs for the
    recipe's payload: the type checks come first, for speed."""
    stack: list[Any] = [value]
    while stack:
        container = stack.pop()
        if type(container) is dict or isinstance(container, dict):
            for key in container:
                if type(key) is not str:
                    names = {k if isinstance(k, str) else json.dumps(k) for k in container}
                    if len(names) < len(container):
                        return True
                    break
            children: Any = container.values()
        else:
            children = container
        for child in children:
            kind = type(child)
            if kind is str or kind is int:  # most leaves
                continue
            if kind is dict or kind is list or isinstance(child, _CONTAINERS):
                stack.append(child)
    return False
