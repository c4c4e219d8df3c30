"""Tokens in cookies, for browsers: the ``Set-Cookie`` headers that deliver and clear them.

For a config whose ``token_location`` holds ``cookie``, three cookies travel together:

- the **access cookie** (HttpOnly): the access token, ``Path`` the config's ``cookie_path``,
  expiring with the token;
- the **refresh cookie** (HttpOnly): the refresh token, ``Path`` the refresh route's parent
  (``refresh_cookie_path``), so that it is sent to the refresh route and to a logout view
  beside it (which ends the refresh family even once the access token has expired), and
  nowhere else; it expires with the refresh token;
- the **CSRF cookie** (readable by page script): the ``csrf`` claim both tokens carry, which
  script sends back in the ``X-CSRF-Token`` header of state-changing requests (double submit,
  bound to the token); it lives as long as the longer-lived token.

All are ``Secure`` (unless ``cookie_secure`` is turned off for plain-HTTP development) and
``SameSite`` as configured (``Lax`` by default).

A cookie is sent whoever made the page that sends the request, so the routes that set or
end a config's cookies (token, refresh, logout) refuse a request made by another site's page
(:meth:`TokenCookies.cross_site`): its ``Origin`` must be the app's own (or one of
``trusted_origins``); without ``Origin``, ``Sec-Fetch-Site`` must say ``same-origin``, and
without either, a ``Referer`` must be the app's own. A request with none of the three is not
a current browser's cross-site request (browsers send ``Origin`` on every cross-origin POST,
current ones ``Sec-Fetch-Site`` on every request): a native or server-side client, let
through. (An older browser's cross-site GET with its Referer suppressed carries none either:
docs/browser-clients.rst says to use POST for a cookie config's token route.)
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from typing import Any, Final

from webob.cookies import make_cookie

from ..jose.issuer import IssuedToken
from .settings import JWTConfig, setting_error

__all__ = ["TokenCookies", "refresh_cookie_path", "under", "origin_of"]


#: Sec-Fetch-Site values of a request the app's own page (or the user, typing a URL) made
_SAME: Final = frozenset({"same-origin", "none"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """``scheme://host:port`` of a URL or origin (lower case, the default port written out),
    or ``None`` when it has none."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return f"{parts.scheme.lower()}://{parts.hostname.lower()}:{port}"


def under(path: str, prefix: str) -> bool:
    """True when a cookie of ``Path=prefix`` is sent to ``path`` (RFC 6265 §5.1.4)."""
    return path == prefix or path.startswith(prefix if prefix.endswith("/") else prefix + "/")


def refresh_cookie_path(config: JWTConfig, refresh_path: str | None) -> str:
    """The refresh cookie's ``Path``: ``refresh_cookie_path``, else the refresh route's parent
    (the route itself at the root), else the access cookie's. A configured path the refresh
    route does not lie under is a ConfigurationError (the browser would never send it there)."""
    if refresh_path is None:
        return config.refresh_cookie_path or config.cookie_path
    if config.refresh_cookie_path is not None:
        if not under(refresh_path, config.refresh_cookie_path):
            raise setting_error(config.name, "refresh_cookie_path",
                                f"is {config.refresh_cookie_path}, which the refresh route "
                                f"{refresh_path} does not lie under, so browsers would never send "
                                "the refresh cookie there",
                                f"give a path the refresh route starts with, e.g. "
                                f"{refresh_path.rsplit('/', 1)[0] or '/'}")
        return config.refresh_cookie_path
    parent = refresh_path.rstrip("/").rsplit("/", 1)[0]
    return parent or refresh_path


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
    #: origins besides the request's own whose pages may use the token, refresh and logout routes
    origins: frozenset[str] = frozenset()

    @classmethod
    def of(cls, config: JWTConfig, refresh_path: str | None) -> TokenCookies:
        """The cookies of ``config``; ``refresh_path`` is its refresh route, if it has one."""
        return cls(config.cookie_name("access"), config.cookie_name("refresh"), config.cookie_name("csrf"),
                   config.cookie_path, refresh_cookie_path(config, refresh_path), config.cookie_domain,
                   config.cookie_secure, config.cookie_samesite,
                   frozenset(filter(None, map(origin_of, config.trusted_origins))))

    def cross_site(self, request: Any) -> str | None:
        """Why ``request`` was made by another site's page (a reason code), or ``None``."""
        own = origin_of(f"{request.scheme}://{request.host}")
        allowed = self.origins | {own}
        origin = request.headers.get("Origin", "").strip()
        if origin:
            origin = origin.split()[-1]  # the last one, nearest to us, as Pyramid takes it
            if origin == "null":
                return "origin_null"
            return None if origin_of(origin) in allowed else "cross_origin"
        fetch_site = request.headers.get("Sec-Fetch-Site")
        if fetch_site is not None:
            return None if fetch_site.strip().lower() in _SAME else "cross_site"
        referer = request.headers.get("Referer")
        if referer is not None:
            return None if origin_of(referer) in allowed else "cross_origin_referer"
        return None

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
