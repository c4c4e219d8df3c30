"""CSRF protection for cookie-borne tokens, built on Pyramid's own CSRF machinery.

A cookie is sent by the browser whoever made the page that sends it, so a request that a
*cookie* authenticates must prove it comes from the app's own page script: a state-changing
request (any method but GET, HEAD, OPTIONS and TRACE) must carry the token's ``csrf`` claim in
the ``X-CSRF-Token`` header (Pyramid's default header name, or the one of
``config.set_default_csrf_options``). Page script reads that value from the readable CSRF
cookie; another site can neither read it nor send the header. Requests authenticated by an
``Authorization`` header carry no ambient credential and are not checked.

- :class:`JWTCookieCSRFStoragePolicy` is an ``ICSRFStoragePolicy``: for a cookie-authenticated
  request the CSRF token *is* the token's ``csrf`` claim; for any other request it asks the
  storage policy the app had (Pyramid's session-based one by default). So
  ``pyramid.csrf.get_csrf_token``/``check_csrf_token`` and ``require_csrf=True`` on views keep
  meaning what a Pyramid developer expects, for JWT cookies and sessions alike.
- :func:`csrf_view` is a view deriver that checks every view (except those registered with
  ``require_csrf=False``, and exception views) before it runs. A state-changing request that
  carries a config's access or refresh cookie must come from the app's own pages
  (:meth:`~pyramid_jwtnode.integration.cookies.TokenCookies.cross_site`: its ``Origin``, else
  ``Sec-Fetch-Site``, else ``Referer``; over HTTP too), whether or not the cookie still
  authenticates: a logout whose access token has expired clears the refresh cookie and ends
  its family, and another site must not do that. One that a cookie authenticated must also
  carry the token's CSRF value (Pyramid's ``check_csrf_token``) and, over HTTPS, an
  ``Origin`` or ``Referer`` at all (Pyramid's ``check_csrf_origin``;
  ``set_default_csrf_options``'s ``allow_no_origin`` applies). ``check_origin=False`` there
  turns both origin checks off. A failure is a JSON ``403``: ``cross_site_request`` for
  another site's page, ``invalid_csrf_token`` for a missing or wrong CSRF value.

The add-on's own routes (token, refresh, ...) are registered with ``require_csrf=False``:
they check the ``Origin`` themselves (cookie configs) and the refresh cookie's CSRF value, so
that ``require_csrf=True`` for the app's views leaves signing in and refreshing working.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from pyramid.csrf import check_csrf_origin
from pyramid.interfaces import ICSRFStoragePolicy, IDefaultCSRFOptions
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.util import strings_differ
from zope.interface import implementer

from .request import policies_of
from .responses import cross_site_refused, csrf_refused

__all__ = ["JWTCookieCSRFStoragePolicy", "csrf_view", "csrf_header", "expected_csrf", "cookie_checks",
           "SAFE_METHODS"]

log = logging.getLogger("pyramid_jwtnode")

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def csrf_header(registry: Registry) -> str:
    """The header the CSRF value travels in: Pyramid's default options', else X-CSRF-Token."""
    options = registry.queryUtility(IDefaultCSRFOptions)
    return getattr(options, "header", None) or "X-CSRF-Token"


def expected_csrf(request: Request) -> str | None:
    """The CSRF value the request must carry when a JWT cookie authenticated it, else ``None``."""
    for policy in policies_of(request):
        if policy.cookie_guards:
            value = policy.csrf_value(request)
            if value is not None:
                return value
    return None


@implementer(ICSRFStoragePolicy)
class JWTCookieCSRFStoragePolicy:
    """The token's CSRF value for cookie-authenticated requests; ``fallback``'s otherwise."""

    def __init__(self, fallback: Any) -> None:
        self.fallback = fallback

    def new_csrf_token(self, request: Request) -> str:
        value = expected_csrf(request)
        return value if value is not None else str(self.fallback.new_csrf_token(request))

    def get_csrf_token(self, request: Request) -> str:
        value = expected_csrf(request)
        return value if value is not None else str(self.fallback.get_csrf_token(request))

    def check_csrf_token(self, request: Request, supplied_token: str) -> bool:
        value = expected_csrf(request)
        if value is None:
            return bool(self.fallback.check_csrf_token(request, supplied_token))
        supplied = supplied_token.encode("utf-8", "backslashreplace")
        return bool(value) and not strings_differ(value.encode("utf-8"), supplied)


def cookie_checks(request: Request) -> tuple[str | None, str | None]:
    """What a state-changing request must pass, in one look at the app's policies: why it
    was made by another site's page when it carries a config's access or refresh cookie (a
    reason code, else ``None``), and the CSRF value it must carry when a cookie authenticated
    it (else ``None``)."""
    cross: str | None = None
    for policy in policies_of(request):
        for guard in policy.cookie_guards:
            cookies = guard.cookies
            assert cookies is not None
            if cookies.read(request, "access") is not None or cookies.read(request, "refresh") is not None:
                cross = cookies.cross_site(request)
                break
        if policy.cookie_guards:
            value = policy.csrf_value(request)
            if value is not None:
                return cross, value
    return cross, None


def csrf_view(view: Any, info: Any) -> Any:
    """View deriver: a state-changing request that carries the add-on's cookies from another
    site's page, or that a cookie authenticated without the token's CSRF value, gets a JSON
    403 before the view runs."""
    if info.exception_only or info.options.get("require_csrf") is False:
        return view

    def checked(context: Any, request: Request) -> Response:
        if request.method not in SAFE_METHODS:
            options = request.registry.queryUtility(IDefaultCSRFOptions)
            check_origin = getattr(options, "check_origin", True)
            cross, expected = cookie_checks(request)
            if check_origin and cross is not None:
                log.info("jwt cookies: request refused (%s)", cross)
                return cross_site_refused()
            if expected is not None:
                header = getattr(options, "header", None) or "X-CSRF-Token"
                supplied = request.headers.get(header, "").encode("utf-8", "backslashreplace")
                token_ok = bool(expected) and not strings_differ(expected.encode("utf-8"), supplied)
                # and over HTTPS, Pyramid's own rule: an Origin or Referer must be there
                origin_ok = not check_origin or check_csrf_origin(
                    request, allow_no_origin=getattr(options, "allow_no_origin", False), raises=False)
                if not (token_ok and origin_ok):
                    return csrf_refused(header)
        return view(context, request)

    return checked


def install_storage_policy(registry: Registry) -> None:
    """Wrap the app's CSRF storage policy in ours, once, when a config uses cookies."""
    current = registry.queryUtility(ICSRFStoragePolicy)
    if not isinstance(current, JWTCookieCSRFStoragePolicy):
        registry.registerUtility(JWTCookieCSRFStoragePolicy(current), ICSRFStoragePolicy)
