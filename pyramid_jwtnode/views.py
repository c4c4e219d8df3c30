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
from typing import Any, Generic, Protocol, TypeVar

from pyramid.httpexceptions import HTTPException, HTTPMethodNotAllowed
from pyramid.request import Request
from pyramid.response import Response

from .exceptions import GrantError, IssueError, StoreUnavailableError
from .issuer import IssuedToken, Issuer
from .responses import NO_STORE, json_response, oauth_error, token_body, unavailable
from .revocation import Revocation

__all__ = ["TokenView", "MethodNotAllowedView", "JWKSView", "VerifyView", "RefreshView",
           "RevocationView", "PayloadCallable", "ResponseCallable"]

log = logging.getLogger("pyramid_jwtnode")

PayloadCallable = Callable[[Request], Any]
ResponseCallable = Callable[[Request, IssuedToken], Mapping[str, Any]]

T = TypeVar("T")


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


class _Bound(Generic[T]):
    """A view built when its directive is called and bound to what its ready config
    provides when the configuration commits, so nothing is looked up per request."""

    def __init__(self, jwt_config: str) -> None:
        self.jwt_config = jwt_config
        self._state: T | None = None

    def bind(self, state: T) -> None:
        self._state = state

    @property
    def state(self) -> T:
        if self._state is None:  # only before commit, i.e. never under a WSGI server
            raise RuntimeError(f"{type(self).__name__} used before the configuration was committed")
        return self._state


class TokenView(_Bound[Callable[[Any], IssuedToken]]):
    """Calls the payload callable, signs its result, answers with the token."""

    def __init__(
        self,
        jwt_config: str,
        payload: PayloadCallable,
        response: ResponseCallable | None = None,
    ) -> None:
        super().__init__(jwt_config)
        self.payload = payload
        self.response = response or token_body

    @staticmethod
    def issuing(issuer: Issuer, revocation: Revocation | None) -> Callable[[Any], IssuedToken]:
        """How to issue: with refresh tokens on, each token starts a refresh family."""
        if revocation is not None and revocation.refresh_verifier is not None:
            return revocation.issue_pair
        return issuer.issue

    def __call__(self, request: Request) -> Response:
        issue = self.state
        try:
            payload = self.payload(request)
        except HTTPException:
            raise
        except Exception as exc:
            log.error("jwt config %s: payload callable raised (payload_error): %s",
                      self.jwt_config, _where(exc))
            return oauth_error("server_error")
        if isinstance(payload, Response):
            return payload
        try:
            issued = issue(payload)
        except IssueError as exc:
            log.error("jwt config %s: token not issued (issue_error): %s", self.jwt_config, exc)
            return oauth_error("server_error")
        try:
            return json_response(self.response(request, issued))
        except HTTPException:
            raise
        except Exception as exc:  # the host's response callable, or a body JSON cannot carry
            log.error("jwt config %s: response callable failed (response_error): %s",
                      self.jwt_config, _where(exc))
            return oauth_error("server_error")


class MethodNotAllowedView:
    """405 with ``Allow`` for every other method on a token route."""

    def __init__(self, allowed: tuple[str, ...]) -> None:
        self.allow = ", ".join(allowed)

    def __call__(self, request: Request) -> Response:
        return HTTPMethodNotAllowed(headers={"Allow": self.allow})


class JWKSView(_Bound[bytes]):
    """Serves the public keys of one or more configs as an RFC 7517 JWK Set.

    The body is built once, when the configuration is committed.
    """

    def __init__(self, jwt_configs: tuple[str, ...]) -> None:
        super().__init__("+".join(jwt_configs))
        self.jwt_configs = jwt_configs

    @staticmethod
    def body(jwks: list[Mapping[str, Any]]) -> bytes:
        return json.dumps({"keys": jwks}, separators=(",", ":")).encode("utf-8")

    def __call__(self, request: Request) -> Response:
        response = Response(body=self.state, content_type="application/json", charset=None)
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


def _one_param(request: Request, name: str) -> str | None:
    values = request.POST.getall(name)
    return values[0] if len(values) == 1 and values[0] else None


class RefreshView(_Bound[Revocation]):
    """RFC 6749 §6: ``grant_type=refresh_token&refresh_token=...`` for a new token pair."""

    def __init__(self, jwt_config: str, response: ResponseCallable | None = None) -> None:
        super().__init__(jwt_config)
        self.response = response or token_body

    def __call__(self, request: Request) -> Response:
        revocation = self.state
        grant_type = _one_param(request, "grant_type")
        token = _one_param(request, "refresh_token")
        if grant_type is None or token is None:
            return oauth_error("invalid_request")
        if grant_type != "refresh_token":
            return oauth_error("unsupported_grant_type")
        try:
            issued = revocation.refresh(token)
        except GrantError as exc:
            log.info("jwt config %s: refresh refused (%s)", self.jwt_config, exc.reason)
            return oauth_error(exc.error)
        except StoreUnavailableError:
            log.error("jwt config %s: revocation store unreachable (store_unavailable)", self.jwt_config)
            return unavailable()
        return json_response(self.response(request, issued))


class RevocationView(_Bound[Revocation]):
    """RFC 7009: POST ``token=...``; 200 whatever the token was, once it is revoked."""

    def __call__(self, request: Request) -> Response:
        revocation = self.state
        token = _one_param(request, "token")
        if token is None:
            return oauth_error("invalid_request")
        try:
            revoked = revocation.revoke_token(token)
        except StoreUnavailableError:
            log.error("jwt config %s: revocation store unreachable (store_unavailable)", self.jwt_config)
            return unavailable()
        log.info("jwt config %s: revocation request (%s)", self.jwt_config,
                 "revoked" if revoked else "nothing_to_revoke")
        response = Response(status=200)
        response.headers.update(NO_STORE)
        return response
