"""Reading verified claims: a claim at a dotted path, and the user id a config names."""

from __future__ import annotations

from typing import Any

__all__ = ["claim_at", "userid_of"]


def claim_at(claims: dict[str, Any], path: str | tuple[str, ...]) -> Any:
    """The claim at a dotted ``path`` (``data.email``, or its parts), or ``None``."""
    value: Any = claims
    for part in path.split(".") if isinstance(path, str) else path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def userid_of(claims: dict[str, Any], path: str | tuple[str, ...]) -> str | None:
    """The user id claim as a non-empty string (an integer is written out), else ``None``."""
    userid = claim_at(claims, path)
    if isinstance(userid, int) and not isinstance(userid, bool):
        return str(userid)
    return userid if isinstance(userid, str) and userid else None
