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
  ``require_csrf=False``, and exception views) before it runs, with Pyramid's
  ``check_csrf_token`` and, over HTTPS, ``check_csrf_origin`` (the ``Origin`` or ``Referer``
  must be the app's own, as Pyramid's own check requires; ``set_default_csrf_options``'s
  ``check_origin`` and ``allow_no_origin`` apply); a failure is a JSON ``403``.
"""

from __future__ import annotations

from typing import Any, Final

from pyramid.csrf import check_csrf_origin, check_csrf_token
from pyramid.interfaces import ICSRFStoragePolicy, IDefaultCSRFOptions
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.util import strings_differ
from zope.interface import implementer

from .request import policies_of
from .responses import csrf_refused

__all__ = ["JWTCookieCSRFStoragePolicy", "csrf_view", "csrf_header", "expected_csrf", "SAFE_METHODS"]

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def csrf_header(registry: Registry) -> str:
    """The header the CSRF value travels in: Pyramid's default options', else X-CSRF-Token."""
    options = registry.queryUtility(IDefaultCSRFOptions)
    return getattr(options, "header", None) or "X-CSRF-Token"


def expected_csrf(request: Request) -> str | None:
    """The CSRF value the request must carry when a JWT cookie authenticated it, else ``None``."""
    for policy in policies_of(request):
        if policy.bound.cookie_guards:
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


def csrf_view(view: Any, info: Any) -> Any:
    """View deriver: a cookie-authenticated, state-changing request without the token's CSRF
    value (or from another origin, over HTTPS) gets a JSON 403 before the view runs."""
    if info.exception_only or info.options.get("require_csrf") is False:
        return view

    def checked(context: Any, request: Request) -> Response:
        if request.method not in SAFE_METHODS and expected_csrf(request) is not None:
            options = request.registry.queryUtility(IDefaultCSRFOptions)
            header = csrf_header(request.registry)
            token_ok = check_csrf_token(request, token=None, header=header, raises=False)
            origin_ok = not getattr(options, "check_origin", True) or check_csrf_origin(
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
