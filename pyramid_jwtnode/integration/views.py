"""The add-on's views: HTTP in, HTTP out, nothing else.

- :class:`TokenView`: a signed token (and a refresh token) for what a payload callable returns
  (RFC 6749 §5.1);
- :class:`RefreshView`: a new pair for a refresh token (RFC 6749 §6);
- :class:`RevocationView`: RFC 7009 revocation;
- :class:`VerifyView`: the recipe's *validate* mode;
- :class:`JWKSView`: the public keys (RFC 7517);
- :class:`MethodNotAllowedView`: the JSON 405 for every other method on their routes.

Each is built when its directive is called and bound to its ready config when the
configuration commits, so nothing is looked up per request. Before a view reads
anything, the request's shape is checked (:mod:`.params`): a body over the config's
``max_body_bytes`` is a 413, a malformed form or query a 400, never a 500.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
import traceback
from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from pyramid.httpexceptions import HTTPException
from pyramid.request import Request
from pyramid.response import Response

from ..exceptions import (
    GrantError,
    InvalidTokenError,
    IssueError,
    KeySetUnavailableError,
    StoreUnavailableError,
)
from ..jose.issuer import IssuedToken, Issuer
from ..jose.verifier import Verifier
from .cookies import TokenCookies
from .reading import RequestProblem, check_body, read_form, read_query
from .responses import (
    NO_STORE,
    cross_site_refused,
    csrf_refused,
    json_response,
    method_not_allowed,
    oauth_error,
    request_problem,
    token_body,
)
from .revocation import Revocation
from .settings import JWTConfig

__all__ = ["TokenView", "MethodNotAllowedView", "JWKSView", "VerifyView", "RefreshView",
           "RevocationView", "LogoutView", "Issuing", "Refreshing", "LoggingOut", "PayloadCallable", "ResponseCallable",
           "RefreshPayloadCallable", "BoundView"]

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


@dataclasses.dataclass(frozen=True)
class Delivery:
    """How issued tokens reach the client: in the JSON body, in cookies, or both
    (``token_location``). With cookies only, the body carries no token: page script never
    holds one."""

    cookies: TokenCookies | None = None
    in_body: bool = True

    @classmethod
    def of(cls, config: JWTConfig, refresh_path: str | None) -> Delivery:
        cookies = TokenCookies.of(config, refresh_path) if config.cookies else None
        return cls(cookies, "header" in config.token_location)

    def respond(self, request: Request, issued: IssuedToken, shape: ResponseCallable) -> Response:
        body = dict(shape(request, issued))
        if not self.in_body:
            for key in ("access_token", "refresh_token"):
                body.pop(key, None)
        response = json_response(body)
        if self.cookies is not None:
            response.headerlist.extend(self.cookies.deliver(issued))
        return response


class BoundView(Generic[T]):
    """A view bound at commit to what its ready config provides (``state``) and to the
    largest body it accepts; it answers a request of the wrong shape itself."""

    def __init__(self, jwt_config: str) -> None:
        self.jwt_config = jwt_config
        self._state: T | None = None
        self.max_body_bytes = 0

    def bind(self, state: T, max_body_bytes: int) -> None:
        self._state = state
        self.max_body_bytes = max_body_bytes

    @property
    def state(self) -> T:
        if self._state is None:  # only before commit, i.e. never under a WSGI server
            raise RuntimeError(f"{type(self).__name__} used before the configuration was committed")
        return self._state

    def __call__(self, request: Request) -> Response:
        state = self.state
        try:
            check_body(request, self.max_body_bytes)
            return self.respond(request, state)
        except RequestProblem as exc:
            log.info("jwt config %s: request refused (%s)", self.jwt_config, exc.problem)
            return request_problem(exc.problem)
        except (StoreUnavailableError, KeySetUnavailableError) as exc:
            exc.config = exc.config or self.jwt_config
            raise  # answered 503 by the exception view (responses.unavailable_view), and only there

    def respond(self, request: Request, state: T) -> Response:
        raise NotImplementedError

    def form_param(self, request: Request, name: str) -> str | None:
        """The one non-empty value of ``name`` in the request's form, else ``None``."""
        values = read_form(request, self.max_body_bytes).getall(name)
        return values[0] if len(values) == 1 and values[0] else None


@dataclasses.dataclass(frozen=True)
class Issuing:
    """What a token view needs of its config: how to issue (with refresh tokens on, each
    token starts a refresh family), and how tokens reach the client."""

    issue: Callable[[Any], IssuedToken]
    delivery: Delivery


@dataclasses.dataclass(frozen=True)
class Refreshing:
    """What a refresh view needs of its config: its revocation, and how tokens reach the client."""

    revocation: Revocation
    delivery: Delivery


class TokenView(BoundView[Issuing]):
    """Calls the payload callable, signs its result, answers with the token.

    The payload callable finds ``request.POST`` (a POST route) or ``request.GET``
    already checked: a small UTF-8 form of text fields, a query that decodes.
    """

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

    def respond(self, request: Request, state: Issuing) -> Response:
        issue, delivery = state.issue, state.delivery
        if delivery.cookies is not None:  # a login another site's page makes: login CSRF
            reason = delivery.cookies.cross_site(request)
            if reason is not None:
                log.info("jwt config %s: token request refused (%s)", self.jwt_config, reason)
                return cross_site_refused()
        if request.environ.get("QUERY_STRING"):  # a payload callable may read it: it must decode
            read_query(request)
        if request.method == "POST":
            read_form(request, self.max_body_bytes)
        try:
            payload = self.payload(request)
        except HTTPException as exc:  # a 401 for a wrong password: the client gets it as it is,
            _no_store(exc)            # except that a token endpoint's answers are never cached
            raise
        except Exception as exc:
            log.error("jwt config %s: payload callable raised (payload_error): %s",
                      self.jwt_config, _where(exc))
            return oauth_error("server_error")
        if isinstance(payload, Response):
            _no_store(payload)
            return payload
        try:
            issued = issue(payload)
        except IssueError as exc:
            log.error("jwt config %s: token not issued (issue_error): %s", self.jwt_config, exc)
            return oauth_error("server_error")
        try:
            return delivery.respond(request, issued, self.response)
        except HTTPException:
            raise
        except Exception as exc:  # the host's response callable, or a body JSON cannot carry
            log.error("jwt config %s: response callable failed (response_error): %s",
                      self.jwt_config, _where(exc))
            return oauth_error("server_error")


def _no_store(response: Response) -> None:
    """RFC 6749 §5.1: no cache keeps a token endpoint's answer (unless it says otherwise)."""
    for name, value in NO_STORE:
        response.headers.setdefault(name, value)


class MethodNotAllowedView:
    """405 with ``Allow`` (a JSON body like every other error) for every other method."""

    def __init__(self, allowed: tuple[str, ...]) -> None:
        self.allow = ", ".join(allowed)

    def __call__(self, request: Request) -> Response:
        return method_not_allowed(self.allow)


class JWKSView(BoundView[bytes]):
    """Serves the public keys of one or more configs as an RFC 7517 JWK Set.

    The body is built once, when the configuration is committed.
    """

    def __init__(self, jwt_configs: tuple[str, ...]) -> None:
        super().__init__("+".join(jwt_configs))
        self.jwt_configs = jwt_configs

    @staticmethod
    def body(jwks: list[Mapping[str, Any]]) -> bytes:
        return json.dumps({"keys": jwks}, separators=(",", ":")).encode("utf-8")

    def respond(self, request: Request, body: bytes) -> Response:
        response = Response(body=body, content_type="application/json", charset=None)
        response.headers["Cache-Control"] = "public, max-age=300"
        return response


class Challenger(Protocol):
    """What the verify view needs of a security policy."""

    def verified_claims(self, request: Request) -> dict[str, Any] | None: ...

    def challenge(self, request: Request) -> Response: ...


class VerifyView(BoundView[Challenger]):
    """The recipe's *validate* mode: a valid bearer token's claims, or the RFC 6750 answer."""

    def respond(self, request: Request, policy: Challenger) -> Response:
        claims = policy.verified_claims(request)
        if claims is None:
            return policy.challenge(request)
        return json_response(claims)


RefreshPayloadCallable = Callable[[Request, Any], Any]


class _ReviewFailed(Exception):
    """The host's refresh_payload callable raised something else than an HTTPException."""


class RefreshView(BoundView[Refreshing]):
    """RFC 6749 §6: ``grant_type=refresh_token&refresh_token=...`` for a new token pair.

    With a ``refresh_payload`` callable, the user is checked again at every refresh: it
    returns the payload of the new pair, or ``None`` (or raises an HTTPException) to refuse,
    which ends the family with ``invalid_grant``. For a config whose tokens travel in cookies,
    the refresh token may come from its cookie instead of the form: the request is then
    authenticated by a cookie, so it must carry the token's CSRF value in ``X-CSRF-Token``.
    """

    def __init__(self, jwt_config: str, response: ResponseCallable | None = None,
                 refresh_payload: RefreshPayloadCallable | None = None,
                 csrf_header: str = "X-CSRF-Token") -> None:
        super().__init__(jwt_config)
        self.response = response or token_body
        self.refresh_payload = refresh_payload
        self.csrf_header = csrf_header

    def _review(self, request: Request) -> Callable[[Any], Any] | None:
        check = self.refresh_payload
        if check is None:
            return None

        def review(payload: Any) -> Any:
            try:
                return check(request, payload)
            except HTTPException:
                return None  # a refusal like any other: invalid_grant, and the family ends
            except Exception as exc:  # the host's callable failed: its bug, logged, a 500
                log.error("jwt config %s: refresh_payload raised (refresh_payload_error): %s",
                          self.jwt_config, _where(exc))
                raise _ReviewFailed from None
        return review

    def _csrf_ok(self, request: Request, revocation: Revocation, token: str) -> bool:
        """A refresh token from a cookie: the header must carry the token's CSRF value."""
        assert revocation.refresh_verifier is not None
        try:
            expected = revocation.refresh_verifier.verify(token).get("csrf")
        except InvalidTokenError:
            return True  # refused just below as invalid_grant, whatever the header says
        supplied = request.headers.get(self.csrf_header, "")
        return isinstance(expected, str) and bool(expected) and hmac.compare_digest(
            expected.encode(), supplied.encode("utf-8", "backslashreplace"))

    def respond(self, request: Request, state: Refreshing) -> Response:
        revocation, delivery = state.revocation, state.delivery
        if delivery.cookies is not None:
            reason = delivery.cookies.cross_site(request)
            if reason is not None:  # another site's page posting its own refresh token: login CSRF
                log.info("jwt config %s: refresh refused (%s)", self.jwt_config, reason)
                return cross_site_refused()
        grant_type = self.form_param(request, "grant_type")
        token = self.form_param(request, "refresh_token")
        if token is not None and delivery.cookies is not None and not delivery.in_body:
            # Refresh tokens of this config live only in cookies: one in a form came from
            # somewhere else (another account's, posted by another site's page).
            log.info("jwt config %s: refresh refused (refresh_token_in_form)", self.jwt_config)
            return oauth_error("invalid_request")
        if token is None and delivery.cookies is not None and not read_form(
                request, self.max_body_bytes).getall("refresh_token"):
            token = delivery.cookies.read(request, "refresh")
            if token is not None and not self._csrf_ok(request, revocation, token):
                log.info("jwt config %s: refresh refused (csrf)", self.jwt_config)
                return csrf_refused(self.csrf_header)
        if grant_type is None or token is None:
            return oauth_error("invalid_request")
        if grant_type != "refresh_token":
            return oauth_error("unsupported_grant_type")
        try:
            issued = revocation.refresh(token, self._review(request))
        except GrantError as exc:
            log.info("jwt config %s: refresh refused (%s)", self.jwt_config, exc.reason)
            return oauth_error(exc.error)
        except _ReviewFailed:
            return oauth_error("server_error")
        return delivery.respond(request, issued, self.response)


class RevocationView(BoundView[Revocation]):
    """RFC 7009: POST ``token=...``; 200 whatever the token was, once it is revoked."""

    def respond(self, request: Request, revocation: Revocation) -> Response:
        token = self.form_param(request, "token")
        if token is None:
            return oauth_error("invalid_request")
        revoked = revocation.revoke_token(token)
        log.info("jwt config %s: revocation request (%s)", self.jwt_config,
                 "revoked" if revoked else "nothing_to_revoke")
        response = Response(status=200)
        response.headers.update(NO_STORE)
        return response


@dataclasses.dataclass(frozen=True)
class LoggingOut:
    """What a logout view needs of its config: the access token's verifier, the revocation
    (and its refresh verifier), and how tokens reach the client."""

    verifier: Verifier
    revocation: Revocation
    delivery: Delivery


class LogoutView(BoundView[LoggingOut]):
    """POST: end the family of the request's access token (``Authorization: Bearer`` or the
    access cookie) or, when that has expired, of its refresh cookie; clear the cookies; answer
    ``{"revoked": true|false}``. A cookie config refuses another site's page (403)."""

    def respond(self, request: Request, state: LoggingOut) -> Response:
        cookies = state.delivery.cookies
        if cookies is not None:
            reason = cookies.cross_site(request)
            if reason is not None:
                log.info("jwt config %s: logout refused (%s)", self.jwt_config, reason)
                return cross_site_refused()
        revoked = self._revoke_access(request, state) or self._revoke_refresh(request, state)
        log.info("jwt config %s: logout (%s)", self.jwt_config, "revoked" if revoked else "nothing_to_revoke")
        response = json_response({"revoked": revoked})
        if cookies is not None:
            response.headerlist.extend(cookies.clear())
        return response

    @staticmethod
    def _revoke_access(request: Request, state: LoggingOut) -> bool:
        words = request.headers.get("Authorization", "").split()
        token = words[1] if len(words) == 2 and words[0].lower() == "bearer" else None
        if token is None and state.delivery.cookies is not None:
            token = state.delivery.cookies.read(request, "access")
        if token is None:
            return False
        try:
            claims = state.verifier.verify(token)
        except InvalidTokenError:
            return False
        state.revocation.revoke(claims)
        return True

    @staticmethod
    def _revoke_refresh(request: Request, state: LoggingOut) -> bool:
        cookies, refresh = state.delivery.cookies, state.revocation.refresh_verifier
        token = cookies.read(request, "refresh") if cookies is not None else None
        if token is None or refresh is None:
            return False
        try:
            claims = refresh.verify(token)
        except InvalidTokenError:
            return False  # expired or forged: it can refresh nothing
        state.revocation.revoke(claims)
        return True
