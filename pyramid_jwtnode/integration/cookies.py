"""Tokens in cookies, for browsers: the ``Set-Cookie`` headers that deliver and clear them.

For a config whose ``token_location`` holds ``cookie``, three cookies travel together:

- the **access cookie** (HttpOnly): the access token, ``Path`` the config's ``cookie_path``,
  expiring with the token;
- the **refresh cookie** (HttpOnly): the refresh token, ``Path`` the refresh route, so that it
  is sent there and nowhere else, expiring with the refresh token;
- the **CSRF cookie** (readable by page script): the ``csrf`` claim both tokens carry, which
  script sends back in the ``X-CSRF-Token`` header of state-changing requests (double submit,
  bound to the token); it lives as long as the longer-lived token.

All are ``Secure`` (unless ``cookie_secure`` is turned off for plain-HTTP development) and
``SameSite`` as configured (``Lax`` by default).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from webob.cookies import make_cookie

from ..jose.issuer import IssuedToken
from .settings import JWTConfig

__all__ = ["TokenCookies"]


@dataclasses.dataclass(frozen=True)
class TokenCookies:
    """The cookie settings of one config, and the headers that set or clear its cookies."""

    access: str
    refresh: str
    csrf: str
    path: str
    refresh_path: str
    domain: str | None
    secure: bool
    samesite: str

    @classmethod
    def of(cls, config: JWTConfig, refresh_path: str | None) -> TokenCookies:
        """The cookies of ``config``; ``refresh_path`` is its refresh route, if it has one."""
        return cls(config.cookie_name("access"), config.cookie_name("refresh"), config.cookie_name("csrf"),
                   config.cookie_path, refresh_path or config.cookie_path, config.cookie_domain,
                   config.cookie_secure, config.cookie_samesite)

    def _cookie(self, name: str, value: str | None, max_age: int, path: str, httponly: bool) -> tuple[str, str]:
        text = make_cookie(name, value, max_age=max_age, path=path, domain=self.domain,
                           secure=self.secure, httponly=httponly, samesite=self.samesite)
        return "Set-Cookie", text.decode("latin-1") if isinstance(text, bytes) else str(text)

    def deliver(self, issued: IssuedToken) -> list[tuple[str, str]]:
        """The headers that hand ``issued`` (and its refresh token) to a browser."""
        headers = [self._cookie(self.access, issued.token, issued.expires_in, self.path, True)]
        longest = issued.expires_in
        if issued.refresh_token is not None and issued.refresh_expires_in is not None:
            headers.append(self._cookie(self.refresh, issued.refresh_token, issued.refresh_expires_in,
                                        self.refresh_path, True))
            longest = max(longest, issued.refresh_expires_in)
        csrf = issued.claims.get("csrf")
        if isinstance(csrf, str):
            headers.append(self._cookie(self.csrf, csrf, longest, self.path, False))
        return headers

    def clear(self) -> list[tuple[str, str]]:
        """The headers that remove every cookie of this config (logout)."""
        return [self._cookie(self.access, None, 0, self.path, True),
                self._cookie(self.refresh, None, 0, self.refresh_path, True),
                self._cookie(self.csrf, None, 0, self.path, False)]

    def read(self, request: Any, kind: str) -> str | None:
        """The value of this config's ``access`` or ``refresh`` cookie in ``request``, if any."""
        try:
            value = request.cookies.get(self.access if kind == "access" else self.refresh)
        except (KeyError, ValueError, UnicodeError):  # a Cookie header WebOb cannot read
            return None
        return value if isinstance(value, str) and value else None
