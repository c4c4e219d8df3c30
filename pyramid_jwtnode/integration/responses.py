"""What goes on the wire: JSON bodies, the RFC 6749 §5 token answers and errors, and the
RFC 6750 §3 bearer challenges. The views and the security policy both answer through here.

Every body is JSON with ``Cache-Control: no-store`` and ``Pragma: no-cache``, and every
error carries one fixed ``error_description`` per error code: nothing a client sent, and
nothing about which check failed, is ever echoed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Final

from pyramid.request import Request
from pyramid.response import Response

from ..jose.issuer import IssuedToken
from .events import StoreUnavailable, safe_notify

__all__ = [
    "NO_STORE",
    "json_response",
    "token_body",
    "oauth_error",
    "unavailable",
    "bearer_challenge",
    "request_problem",
    "method_not_allowed",
    "csrf_refused",
    "cross_site_refused",
    "unavailable_view",
]

log = logging.getLogger("pyramid_jwtnode")

#: RFC 6749 §5.1: token responses (and errors) must not be cached.
NO_STORE: Final[tuple[tuple[str, str], ...]] = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))

#: RFC 6749 §5.2 error codes (and ours of the same shape): status and fixed description.
_OAUTH_ERRORS: Final[dict[str, tuple[int, str]]] = {
    "invalid_request": (400, "The request is missing a parameter or repeats one."),
    "unsupported_grant_type": (400, "Only grant_type=refresh_token is supported here."),
    "invalid_grant": (400, "The refresh token is invalid, expired, revoked or already used."),
    "server_error": (500, "The token could not be issued."),
    "temporarily_unavailable": (503, "Tokens cannot be checked right now; try again shortly."),
}

#: RFC 6750 §3: for each bearer outcome, the status, the error code and its description.
_BEARER_ERRORS: Final[dict[str | None, tuple[int, str]]] = {
    None: (401, "A bearer token is required."),
    "invalid_token": (401, "The access token is invalid or has expired."),
    "invalid_request": (400, "The request does not carry one well-formed bearer token."),
    "insufficient_scope": (403, "The access token does not grant this permission."),
}


#: Requests of the wrong shape (:mod:`.params`): status and a description that says what to send.
_REQUEST_PROBLEMS: Final[dict[str, tuple[int, str]]] = {
    "too_large": (413, "The request body is larger than this endpoint accepts."),
    "content_type": (400, "Send the parameters as application/x-www-form-urlencoded."),
    "json": (400, "This endpoint takes a form, not JSON: send the parameters as "
                  "application/x-www-form-urlencoded."),
    "charset": (400, "Send the form in UTF-8."),
    "not_text": (400, "Send text parameters only: no files, no unnamed parts."),
    "malformed": (400, "The request body could not be read as a form."),
    "malformed_query": (400, "The query string could not be read."),
}


#: One encoder for every body (json.dumps with options would build one per call).
_JSON: Final = json.JSONEncoder(separators=(",", ":"))


def json_response(body: Mapping[str, Any], status: int = 200, headers: Any = ()) -> Response:
    """A JSON response that caches and proxies may not store."""
    response = Response(
        body=_JSON.encode(body).encode("utf-8"),
        status=status,
        content_type="application/json",
        charset=None,
    )
    response.headers.update(NO_STORE)
    response.headers.update(headers)
    return response


def token_body(request: Request, issued: IssuedToken) -> dict[str, Any]:
    """The RFC 6749 §5.1 body: ``access_token``, ``token_type``, ``expires_in`` (and
    ``refresh_token`` when the config issues them)."""
    body: dict[str, Any] = {"access_token": issued.token, "token_type": "Bearer",
                            "expires_in": issued.expires_in}
    if issued.refresh_token is not None:
        body["refresh_token"] = issued.refresh_token
    return body


def oauth_error(error: str, headers: Any = ()) -> Response:
    """An RFC 6749 §5.2 error answer with the code's status and fixed description."""
    status, description = _OAUTH_ERRORS[error]
    return json_response({"error": error, "error_description": description}, status=status,
                         headers=headers)


def unavailable() -> Response:
    """503 when a revocation store or a key set cannot be reached: refused, never waved through."""
    return oauth_error("temporarily_unavailable", headers={"Retry-After": "5"})


def bearer_challenge(realm: str, error: str | None) -> Response:
    """The RFC 6750 §3 answer: a bare ``Bearer realm`` challenge when no token was sent
    (``error`` None), else the challenge with the error code and its description."""
    status, description = _BEARER_ERRORS[error]
    challenge = f'Bearer realm="{realm}"'
    if error is not None:
        challenge += f', error="{error}", error_description="{description}"'
    body = {"error": error or "unauthorized", "error_description": description}
    return json_response(body, status=status, headers={"WWW-Authenticate": challenge})


def request_problem(problem: str) -> Response:
    """The answer to a request of the wrong shape (``invalid_request``, 400 or 413)."""
    status, description = _REQUEST_PROBLEMS[problem]
    return json_response({"error": "invalid_request", "error_description": description},
                         status=status)


def method_not_allowed(allowed: str) -> Response:
    """405 with ``Allow``, as JSON like every other error."""
    return json_response(
        {"error": "invalid_request", "error_description": f"This endpoint answers {allowed} only."},
        status=405, headers={"Allow": allowed},
    )


def cross_site_refused() -> Response:
    """403 for a request to a cookie config's routes made by another site's page (login CSRF)."""
    return json_response(
        {"error": "cross_site_request",
         "error_description": "The request was made by a page of another site; sign in, refresh and "
                              "sign out only from the app's own pages (or list the site in "
                              "trusted_origins)."},
        status=403,
    )


def csrf_refused(header: str = "X-CSRF-Token") -> Response:
    """403 for a state-changing request a cookie authenticated without the token's CSRF value."""
    return json_response(
        {"error": "invalid_csrf_token",
         "error_description": f"A state-changing request authenticated by a cookie must carry the "
                              f"token's CSRF value (the CSRF cookie) in the {header} header."},
        status=403,
    )


def unavailable_view(exc: Exception, request: Request) -> Response:
    """The one place "cannot be checked now" becomes an answer: the exception view for a
    revocation store or remote key set that cannot be reached (a view, a request method,
    ``forget``), and the security policy's answer for a token it could not check. Logs the
    config and a reason code, and answers 503 with ``Retry-After``; never a 500, never a pass."""
    key_set = type(exc).__name__ == "KeySetUnavailableError"
    config = getattr(exc, "config", None) or "?"
    if key_set:
        what = "key set unavailable"  # its URL and status were logged when its fetch failed
    elif getattr(exc, "store", None):  # a store that says where it is, without credentials
        what = str(exc)
    else:
        what = "revocation store unreachable"
    log.error("jwt config %s: %s, request refused (%s)", config, what,
              "key_set_unavailable" if key_set else "store_unavailable")
    if not key_set:  # a key set's failure was told when its fetch failed
        safe_notify(request.registry.notify)(StoreUnavailable(config, "store_unavailable"))
    return unavailable()
