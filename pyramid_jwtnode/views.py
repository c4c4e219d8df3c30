"""The add-on's views: HTTP in, HTTP out, nothing else.

- :class:`TokenView`: a signed token (and a refresh token) for what a payload callable returns
  (RFC 6749 §5.1);
- :class:`RefreshView`: a new pair for a refresh token (RFC 6749 §6);
- :class:`RevocationView`: RFC 7009 revocation;
- :class:`VerifyView`: the recipe's *validate* mode;
- :class:`JWKSView`: the public keys (RFC 7517).

Each is built when its directive is called and bound to its ready config when the
configuration commits, so nothing is looked up per request.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from pyramid.httpexceptions import HTTPException, HTTPMethodNotAllowed
from pyramid.request import Request
from pyramid.response import Response

from .exceptions import GrantError, IssueError, StoreUnavailableError
from .issuer import IssuedToken, Issuer
from .revocation import Revocation

__all__ = ["TokenView", "MethodNotAllowedView", "JWKSView", "VerifyView", "RefreshView",
           "RevocationView", "json_response", "token_body"]

log = logging.getLogger("pyramid_jwtnode")

PayloadCallable = Callable[[Request], Any]
ResponseCallable = Callable[[Request, IssuedToken], Mapping[str, Any]]

#: RFC 6749 §5.1: token responses must not be cached.
NO_STORE: tuple[tuple[str, str], ...] = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


def json_response(body: Mapping[str, Any], status: int = 200, headers: Any = ()) -> Response:
    """A JSON response that caches and proxies may not store."""
    response = Response(
        body=json.dumps(body, separators=(",", ":")).encode("utf-8"),
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


def _where(exc: BaseException) -> str:
    """The exception's type and the line that raised it, without its message.

    The message of an exception raised in application code may carry anything (a
    database URL with its password, the claims); the log gets enough to find the
    line, never that text.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {last.filename}:{last.lineno} in {last.name}"


def _server_error() -> Response:
    return json_response(
        {"error": "server_error", "error_description": "The token could not be issued."},
        status=500,
    )


class TokenView:
    """Calls the payload callable, signs its result, answers with the token."""

    def __init__(
        self,
        jwt_config: str,
        payload: PayloadCallable,
        response: ResponseCallable | None = None,
    ) -> None:
        self.jwt_config = jwt_config
        self.payload = payload
        self.response = response or token_body
        self.issue: Callable[[Any], IssuedToken] | None = None

    def bind(self, issuer: Issuer, revocation: Revocation | None = None) -> None:
        """Issue with ``issuer``; with refresh tokens on, start a refresh family per token."""
        if revocation is not None and revocation.refresh_verifier is not None:
            self.issue = revocation.issue_pair
        else:
            self.issue = issuer.issue

    def __call__(self, request: Request) -> Response:
        issue = self.issue
        if issue is None:  # only before commit, i.e. never under a WSGI server
            raise RuntimeError("TokenView used before the configuration was committed")
        try:
            payload = self.payload(request)
        except HTTPException:
            raise
        except Exception as exc:
            log.error("jwt config %s: payload callable raised (payload_error): %s",
                      self.jwt_config, _where(exc))
            return _server_error()
        if isinstance(payload, Response):
            return payload
        try:
            issued = issue(payload)
        except IssueError as exc:
            log.error("jwt config %s: token not issued (issue_error): %s", self.jwt_config, exc)
            return _server_error()
        try:
            return json_response(self.response(request, issued))
        except HTTPException:
            raise
        except Exception as exc:  # the host's response callable, or a body JSON cannot carry
            log.error("jwt config %s: response callable failed (response_error): %s",
                      self.jwt_config, _where(exc))
            return _server_error()


class MethodNotAllowedView:
    """405 with ``Allow`` for every other method on a token route."""

    def __init__(self, allowed: tuple[str, ...]) -> None:
        self.allow = ", ".join(allowed)

    def __call__(self, request: Request) -> Response:
        return HTTPMethodNotAllowed(headers={"Allow": self.allow})


class JWKSView:
    """Serves the public keys of one or more configs as an RFC 7517 JWK Set.

    The body is built once, when the configuration is committed.
    """

    def __init__(self, jwt_configs: tuple[str, ...]) -> None:
        self.jwt_configs = jwt_configs
        self.body: bytes | None = None

    def bind(self, jwks: list[Mapping[str, Any]]) -> None:
        self.body = json.dumps({"keys": jwks}, separators=(",", ":")).encode("utf-8")

    def __call__(self, request: Request) -> Response:
        if self.body is None:
            raise RuntimeError("JWKSView used before the configuration was committed")
        response = Response(body=self.body, content_type="application/json", charset=None)
        response.headers["Cache-Control"] = "public, max-age=300"
        return response


class Challenger(Protocol):
    """What the verify view needs of a security policy."""

    def verified_claims(self, request: Request) -> dict[str, Any] | None: ...

    def challenge(self, request: Request) -> Response: ...


class VerifyView:
    """The recipe's *validate* mode: a valid bearer token's claims, or the RFC 6750 answer."""

    def __init__(self, policy: Challenger) -> None:
        self.policy = policy

    def __call__(self, request: Request) -> Response:
        claims = self.policy.verified_claims(request)
        if claims is None:
            return self.policy.challenge(request)
        return json_response(claims)


_GRANT_ERRORS: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "The request is missing a parameter or repeats one."),
    "unsupported_grant_type": (400, "Only grant_type=refresh_token is supported here."),
    "invalid_grant": (400, "The refresh token is invalid, expired, revoked or already used."),
}
_UNAVAILABLE = {"error": "temporarily_unavailable",
                "error_description": "Tokens cannot be checked right now; try again shortly."}


def grant_error(error: str) -> Response:
    """An RFC 6749 §5.2 error answer with one fixed description per code."""
    status, description = _GRANT_ERRORS[error]
    return json_response({"error": error, "error_description": description}, status=status)


def unavailable() -> Response:
    """503 when the revocation store cannot be reached: refused, never waved through."""
    return json_response(_UNAVAILABLE, status=503, headers={"Retry-After": "5"})


def _one_param(request: Request, name: str) -> str | None:
    values = request.POST.getall(name)
    return values[0] if len(values) == 1 and values[0] else None


class RefreshView:
    """RFC 6749 §6: ``grant_type=refresh_token&refresh_token=...`` for a new token pair."""

    def __init__(self, jwt_config: str, response: ResponseCallable | None = None) -> None:
        self.jwt_config = jwt_config
        self.response = response or token_body
        self.revocation: Revocation | None = None

    def bind(self, revocation: Revocation) -> None:
        self.revocation = revocation

    def __call__(self, request: Request) -> Response:
        if self.revocation is None:
            raise RuntimeError("RefreshView used before the configuration was committed")
        grant_type = _one_param(request, "grant_type")
        token = _one_param(request, "refresh_token")
        if grant_type is None or token is None:
            return grant_error("invalid_request")
        if grant_type != "refresh_token":
            return grant_error("unsupported_grant_type")
        try:
            issued = self.revocation.refresh(token)
        except GrantError as exc:
            log.info("jwt config %s: refresh refused (%s)", self.jwt_config, exc.reason)
            return grant_error(exc.error)
        except StoreUnavailableError:
            log.error("jwt config %s: revocation store unreachable (store_unavailable)", self.jwt_config)
            return unavailable()
        return json_response(self.response(request, issued))


class RevocationView:
    """RFC 7009: POST ``token=...``; 200 whatever the token was, once it is revoked."""

    def __init__(self, jwt_config: str) -> None:
        self.jwt_config = jwt_config
        self.revocation: Revocation | None = None

    def bind(self, revocation: Revocation) -> None:
        self.revocation = revocation

    def __call__(self, request: Request) -> Response:
        if self.revocation is None:
            raise RuntimeError("RevocationView used before the configuration was committed")
        token = _one_param(request, "token")
        if token is None:
            return grant_error("invalid_request")
        try:
            revoked = self.revocation.revoke_token(token)
        except StoreUnavailableError:
            log.error("jwt config %s: revocation store unreachable (store_unavailable)", self.jwt_config)
            return unavailable()
        log.info("jwt config %s: revocation request (%s)", self.jwt_config,
                 "revoked" if revoked else "nothing_to_revoke")
        response = Response(status=200)
        response.headers.update(NO_STORE)
        return response
