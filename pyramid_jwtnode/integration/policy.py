"""A Pyramid 2 security policy for bearer tokens of one or more configs, and its RFC 6750 answers.

:class:`JWTSecurityPolicy` reads ``Authorization: Bearer <token>`` (the scheme
in any case), finds the config the token belongs to (:mod:`.selection`), verifies it
with that config's :class:`~pyramid_jwtnode.jose.verifier.Verifier` and rules, and answers a
denied request the way OAuth 2.0 clients expect (RFC 6750 §3):

=====================================  ======  ==========================================
request                                status  ``WWW-Authenticate``
=====================================  ======  ==========================================
no token (or another scheme)           401     ``Bearer realm="…"``
invalid, expired, wrong key …          401     ``Bearer realm="…", error="invalid_token"``
empty token, several tokens            400     ``Bearer realm="…", error="invalid_request"``
valid token, permission not granted    403     ``Bearer realm="…", error="insufficient_scope"``
store or key set cannot be reached     503     (``Retry-After``; ``temporarily_unavailable``)
=====================================  ======  ==========================================

The JSON body holds the same ``error`` and one fixed ``error_description`` per
error: it never echoes the token or its claims and never says which check
failed. The reason goes to the ``pyramid_jwtnode`` logger as a short code.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from pyramid.authorization import ACLHelper, Authenticated, Everyone
from pyramid.request import Request
from pyramid.response import Response

from ..exceptions import InvalidTokenError, KeySetUnavailableError, StoreUnavailableError
from ..jose.choosing import ConfigChooser
from ..jose.claims import claim_at, userid_of
from ..jose.issuer import IssuedToken
from ..jose.jwks import RemoteKeySet
from ..loggable import compared
from .cookies import TokenCookies
from .meter import verification_reason
from .reading import RequestProblem, read_query
from .responses import bearer_challenge, unavailable_view

if TYPE_CHECKING:
    from ..jose.verifier import Verifier
    from .meter import Meter
    from .revocation import Revocation
    from .runtime import JWTRuntime

__all__ = ["JWTSecurityPolicy", "BearerResult", "CONFIG_PRINCIPAL", "PERMITS_RECORD", "principals_for"]

log = logging.getLogger("pyramid_jwtnode")

#: The principal naming the config that accepted a token: ``jwt-config:<name>``. A token's own
#: claims can never produce one.
CONFIG_PRINCIPAL: Final = "jwt-config:"
#: The environ key under which a list asks :meth:`JWTSecurityPolicy.permits` to record its
#: decisions for the request (what :mod:`pyramid_jwtnode.tools.debugtoolbar` shows).
PERMITS_RECORD: Final = "pyramid_jwtnode.permits"


class Credentials(StrEnum):
    """What a request's credentials came to."""

    ABSENT = "absent"            # no token (or another scheme)
    VALID = "valid"              # a token that verified and names a user
    INVALID = "invalid"          # a token refused (the reason says why)
    MALFORMED = "malformed"      # an Authorization header or query the policy cannot read
    UNAVAILABLE = "unavailable"  # the store or key set needed to check it cannot be reached


ABSENT, VALID, INVALID, MALFORMED, UNAVAILABLE = Credentials

#: the RFC 6750 error code of each state (VALID: the token lacks the permission)
_ERRORS: Final[dict[Credentials, str | None]] = {
    ABSENT: None, INVALID: "invalid_token", MALFORMED: "invalid_request", VALID: "insufficient_scope",
}


IdentityCallable = Callable[[Request, dict[str, Any]], Any]


@dataclasses.dataclass(frozen=True)
class _Guard:
    """One config at request time, the one object the policy holds for it: how its tokens are
    chosen (it is :class:`~pyramid_jwtnode.jose.choosing.Choosable`), checked (verifier,
    revocation) and turned into an identity (its policy settings)."""

    verifier: Verifier
    revocation: Revocation | None
    name: str
    realm: str
    userid_path: tuple[str, ...]
    principals_path: tuple[str, ...] | None
    identity: IdentityCallable | None
    query_token: bool
    header: bool = True
    cookies: TokenCookies | None = None
    issue: Callable[[Any], IssuedToken] | None = None
    claims_key: str | None = None
    #: put before the user id of this config's tokens (``userid_prefix``)
    userid_prefix: str = ""
    #: key ids its tokens carry (local keys; empty when they carry none)
    kids: frozenset[str] = frozenset()
    #: the remote key set its keys come from, if any
    remote_keys: RemoteKeySet | None = None

    @classmethod
    def of(cls, node: JWTRuntime) -> _Guard:
        c, keys = node.config, node.keys
        issue: Callable[[Any], IssuedToken] | None = None
        if node.revocation is not None and node.revocation.refresh_verifier is not None:
            issue = node.revocation.issue_pair
        elif node.issuer is not None:
            issue = node.issuer.issue
        kids = frozenset(k for k in keys.verification_keys if k is not None)
        if keys.kid is None:  # an HS config without kid: its tokens carry none
            kids = frozenset()
        return cls(node.verifier, node.revocation, c.name, c.realm or c.name,
                   tuple(c.userid_claim.split(".")),
                   tuple(c.principals_claim.split(".")) if c.principals_claim else None,
                   c.identity, c.query_token, "header" in c.token_location,
                   TokenCookies.of(c, node.refresh_path) if c.cookies else None, issue, c.claims_key,
                   c.userid_prefix or "", kids, keys.remote)

    # -- Choosable ------------------------------------------------------------------------

    @property
    def algorithm(self) -> str:
        return self.verifier.config.algorithm

    @property
    def static_issuer(self) -> str | None:
        return self.verifier.config.issuer

    @property
    def remote(self) -> bool:
        return self.remote_keys is not None

    def issuer(self) -> str | None:
        return self.verifier.known_issuer

    def holds(self, kid: str) -> bool:
        return self.remote_keys is not None and self.remote_keys.holds(kid)


class BearerResult:
    """What one request's credentials came to, for one policy (computed once per request).

    ``claims`` are the verified claims of the token (also when the token authenticates
    nobody: no userid, or an ``identity`` callable that refused it) and ``config`` the name
    of the config that verified them (or, without claims, of the config that refused the
    token); ``userid`` and ``identity`` are set only for a VALID result, which is the only one
    that authenticates.
    """

    __slots__ = ("state", "claims", "reason", "identity", "userid", "config", "source", "error", "policy",
                 "revoked_by_app", "_guard")

    def __init__(self, state: Credentials, claims: dict[str, Any] | None = None, reason: str | None = None,
                 guard: _Guard | None = None, source: str | None = None) -> None:
        self.state = state
        self.claims = claims
        self.reason = reason
        self.identity: Any = None
        self.userid: str | None = None
        self._guard = guard
        self.config = guard.name if guard is not None else None
        #: where the token came from: "header", "query" or "cookie"
        self.source = source
        #: for an UNAVAILABLE result, what could not be reached
        self.error: StoreUnavailableError | KeySetUnavailableError | None = None
        #: the policy that decided (set by :meth:`JWTSecurityPolicy.authenticate`)
        self.policy: JWTSecurityPolicy | None = None
        #: the token was accepted, then revoked while the request ran (a logout): the result
        #: reads INVALID/``revoked`` from then on
        self.revoked_by_app = False


class JWTSecurityPolicy:
    """``ISecurityPolicy`` for bearer JWTs of one config, or of several.

    Build it from ready configs with :meth:`from_node`/:meth:`from_nodes`, or let
    ``config.set_jwt_security_policy(*names)`` do it. Plain constructor arguments
    mirror the config settings of the same names, for one config.

    With several configs, a token is checked by the config it belongs to (an exact
    ``kid`` match, else its ``iss``, else the configs of its ``alg`` in order: see
    :mod:`pyramid_jwtnode.jose.choosing`), and the principal ``jwt-config:<name>`` of that
    config joins the request's principals.
    """

    def __init__(
        self,
        verifier: Verifier | None = None,
        *,
        name: str = "jwt",
        realm: str | None = None,
        userid_claim: str = "sub",
        principals_claim: str | None = None,
        identity: IdentityCallable | None = None,
        query_token: bool = False,
        revocation: Revocation | None = None,
    ) -> None:
        self.name = name
        self.configs: tuple[str, ...] = (name,)
        #: each config's guard; the chooser among them; those whose tokens travel in cookies
        self.guards: tuple[_Guard, ...] = ()
        self._chooser: ConfigChooser[_Guard] | None = None
        self.cookie_guards: tuple[_Guard, ...] = ()
        self._query = query_token  # any config reads the access_token query parameter
        if verifier is not None:
            self._take((_Guard(
                verifier, revocation, name, realm or name, tuple(userid_claim.split(".")),
                tuple(principals_claim.split(".")) if principals_claim else None, identity,
                query_token,
            ),))
        self._cache_key = f"_jwtnode_auth_{id(self)}"
        self._acl = ACLHelper()
        #: counts each request's verification and its time (bound from the configs' runtimes)
        self.meter: Meter | None = None

    @classmethod
    def from_node(cls, node: JWTRuntime) -> JWTSecurityPolicy:
        """A policy for one ready config, with that config's settings."""
        return cls.from_nodes(node)

    @classmethod
    def from_nodes(cls, *nodes: JWTRuntime) -> JWTSecurityPolicy:
        """A policy accepting the tokens of several ready configs, each checked by its own
        rules. Raises :class:`~pyramid_jwtnode.jose.choosing.IndistinguishableError` for configs
        whose tokens cannot be told apart."""
        policy = cls(name=nodes[0].name)
        policy.bind(*nodes)
        return policy

    def bind(self, *nodes: JWTRuntime) -> None:
        """Take the verifiers and settings of ``nodes`` (done at commit by the directives)."""
        self._take(tuple(_Guard.of(node) for node in nodes))
        self.meter = nodes[0].meter

    def _take(self, guards: tuple[_Guard, ...]) -> None:
        chooser = ConfigChooser(guards)  # refuses configs whose tokens cannot be told apart
        self.guards, self._chooser = guards, chooser
        self.name, self.configs = guards[0].name, tuple(g.name for g in guards)
        self._query = any(g.query_token for g in guards)
        self.cookie_guards = tuple(g for g in guards if g.cookies is not None)

    @property
    def chooser(self) -> ConfigChooser[_Guard]:
        """The chooser among the policy's configs (bound at commit)."""
        if self._chooser is None:
            raise RuntimeError("JWTSecurityPolicy used before it was bound to a jwt config")
        return self._chooser

    @property
    def realm(self) -> str:
        """The ``realm`` of this policy's challenges (the first config's)."""
        return self.chooser.candidates[0].realm

    @property
    def verifier(self) -> Verifier:
        """The verifier of the (first) config."""
        return self.chooser.candidates[0].verifier

    @property
    def revocation(self) -> Revocation | None:
        """The revocation of the (first) config (``None`` without a revocation store)."""
        return self.chooser.candidates[0].revocation

    # -- reading and verifying the credentials -----------------------------------

    def _token(self, request: Request) -> tuple[Credentials, str | None, str | None]:
        """(state, token or reason, source): ABSENT, MALFORMED with a reason, or VALID with the
        token and where it came from ("header", "query"; a cookie is read by the caller)."""
        token = None
        header = request.environ.get("HTTP_AUTHORIZATION")
        if header is not None:
            words = header.split()
            if words and words[0].lower() == "bearer":
                if len(words) == 1:
                    return MALFORMED, "empty_token", None
                if len(words) > 2 or "," in words[1]:
                    return MALFORMED, "several_tokens", None
                token = words[1]
        if self._query and "access_token=" in request.environ.get("QUERY_STRING", ""):
            try:
                values = read_query(request).getall("access_token")
            except RequestProblem:
                return MALFORMED, "malformed_query", None
            if values:  # else "access_token=" was part of another parameter
                if token is not None or len(values) > 1:
                    return MALFORMED, "several_tokens", None
                if not values[0]:
                    return MALFORMED, "empty_token", None
                return VALID, values[0], "query"
        if token is None:
            return ABSENT, None, None
        return VALID, token, "header"

    def _cookie(self, request: Request) -> tuple[_Guard, str] | None:
        """The first cookie config whose access cookie the request carries, with the token."""
        for guard in self.cookie_guards:
            assert guard.cookies is not None
            token = guard.cookies.read(request, "access")
            if token is not None:
                return guard, token
        return None

    def authenticate(self, request: Request) -> BearerResult:
        """Verify the request's bearer token once and remember the outcome on the request."""
        cached: BearerResult | None = request.__dict__.get(self._cache_key)
        if cached is not None:
            return cached
        meter = self.meter
        if meter is None:
            result = self._authenticate(request)
        else:
            start = time.perf_counter()
            result = self._authenticate(request)
            if result.state != ABSENT:  # no token: nothing was verified
                meter.verified(result.config or self.name, verification_reason(result.reason),
                               time.perf_counter() - start)
        result.policy = self
        request.__dict__[self._cache_key] = result
        return result

    def presented(self, request: Request) -> tuple[Credentials, str | None, str | None, str | None]:
        """What the request presents, read as :meth:`authenticate` reads it, without verifying:
        ``(state, token or reason, source, config)``. ``state`` is ``absent``, ``malformed``
        (with the reason code) or ``valid`` (a token to verify, from ``source``: ``header``,
        ``query`` or ``cookie``); ``config`` names the config a cookie belongs to."""
        state, value, source, forced = self._read(request)
        return state, value, source, forced.name if forced is not None else None

    def decided(self, request: Request) -> BearerResult | None:
        """What :meth:`authenticate` decided for ``request``, or ``None`` when nothing has asked
        it yet (a view without a permission, say): never verifies."""
        result: BearerResult | None = request.__dict__.get(self._cache_key)
        return result

    def _read(self, request: Request) -> tuple[Credentials, str | None, str | None, _Guard | None]:
        state, value, source = self._token(request)
        forced: _Guard | None = None
        if state == ABSENT and self.cookie_guards:
            found = self._cookie(request)  # no Authorization header: a cookie may carry one
            if found is not None:
                (forced, value), state, source = found, VALID, "cookie"
        return state, value, source, forced

    def would_decide(self, request: Request) -> BearerResult:
        """What :meth:`authenticate` would decide for ``request``, without remembering it on the
        request, counting it in the metrics or logging it (what the debug toolbar panel shows for
        a request nothing asked about). The ``identity`` callable and the revocation store are
        asked, as for a real decision."""
        return self._authenticate(request, quiet=True)

    def _authenticate(self, request: Request, quiet: bool = False) -> BearerResult:
        state, value, source, forced = self._read(request)
        name = self.chooser.candidates[0].name
        if state == ABSENT:
            return BearerResult(ABSENT)
        if state == MALFORMED:
            if not quiet:
                log.info("jwt config %s: authorization refused (%s)", name, value)
            result = BearerResult(MALFORMED, reason=value)
            result.config = name
            return result
        assert value is not None
        try:
            guard, claims = self._verify(value, forced, source)
        except InvalidTokenError as exc:
            if not quiet:
                log.info("jwt config %s: bearer token refused (%s)%s", exc.config or name, exc.reason,
                         compared(exc.expected, exc.seen))
            result = BearerResult(INVALID, reason=exc.reason)
            result.config = exc.config or name
            return result
        except (StoreUnavailableError, KeySetUnavailableError) as exc:
            exc.config = exc.config or name
            result = BearerResult(UNAVAILABLE, reason="key_set_unavailable" if isinstance(
                exc, KeySetUnavailableError) else "store_unavailable")
            result.error, result.config = exc, exc.config  # answered (and logged) by responses.unavailable_view
            return result
        userid = userid_of(claims, guard.userid_path)
        if userid is None:
            # A token that names nobody authenticates nobody (its claims stay readable).
            if not quiet:
                log.info("jwt config %s: bearer token refused (no_userid)", guard.name)
            return BearerResult(INVALID, claims, "no_userid", guard, source)
        identity = claims if guard.identity is None else guard.identity(request, claims)
        if identity is None:
            if not quiet:
                log.info("jwt config %s: bearer token refused (identity_refused)", guard.name)
            return BearerResult(INVALID, claims, "identity_refused", guard, source)
        result = BearerResult(VALID, claims, guard=guard, source=source)
        result.identity, result.userid = identity, guard.userid_prefix + userid
        return result

    def _verify(self, token: str, forced: _Guard | None = None,
                source: str | None = None) -> tuple[_Guard, dict[str, Any]]:
        """The guard whose config checks ``token`` (``forced``, else the chosen one) and the
        token's claims, checked for its source and against the revocation store. A refusal
        names its config (``exc.config``)."""
        guard = forced
        try:
            if forced is not None:  # the cookie's name says whose token it is
                claims = forced.verifier.verify(token)
            else:
                guard, claims = self.chooser.verify(token)
            assert guard is not None
            if source == "query" and not guard.query_token:
                raise InvalidTokenError("query_token_not_allowed")
            if source == "header" and not guard.header:
                raise InvalidTokenError("header_not_allowed")
            if guard.revocation is not None:
                guard.revocation.check(claims)
        except (InvalidTokenError, StoreUnavailableError, KeySetUnavailableError) as exc:
            if guard is not None:
                exc.config = guard.name
            raise
        assert guard is not None
        return guard, claims

    def check_token(self, token: str, config: str | None = None) -> tuple[str, dict[str, Any]]:
        """Check ``token`` as this policy checks a bearer token, without a request (what
        ``pjwt verify`` does): the config chosen for it (or ``config``, one of the policy's),
        its signature and claims, its revocation, and a user id in its ``userid_claim``.

        Returns the config's name and the claims. Raises :class:`InvalidTokenError` (its
        ``config`` names the config that refused it), :class:`StoreUnavailableError` or
        :class:`KeySetUnavailableError`. Where the token came from (header, cookie, query)
        and the ``identity`` callable need a request: they are not checked here.
        """
        forced = None
        if config is not None:
            forced = next((g for g in self.guards if g.name == config), None)
            if forced is None:
                raise ValueError(f"jwt config {config!r} is not one of the policy's: "
                                 f"{', '.join(self.configs)}")
        guard, claims = self._verify(token, forced)
        if userid_of(claims, guard.userid_path) is None:
            refusal = InvalidTokenError("no_userid")
            refusal.config = guard.name
            raise refusal
        return guard.name, claims

    # -- ISecurityPolicy -------------------------------------------------------------

    def identity(self, request: Request) -> Any:
        """The verified claims, or what the ``identity`` callable made of them; else ``None``."""
        return self.authenticate(request).identity

    def verified_claims(self, request: Request) -> dict[str, Any] | None:
        """The verified claims of the request's bearer token, or ``None``.

        A token that verifies but authenticates nobody (no userid, identity refused) still
        has verified claims: this is what ``request.jwt_claims`` and the verify view show.
        """
        return self.authenticate(request).claims

    def verified_config(self, request: Request) -> str | None:
        """The name of the config that verified the request's token, or ``None``."""
        result = self.authenticate(request)
        return result.config if result.claims is not None else None

    def authenticated_userid(self, request: Request) -> str | None:
        """The ``userid_claim`` of a token that authenticates (a non-empty string), after the
        config's ``userid_prefix``; else ``None``."""
        return self.authenticate(request).userid

    def principals(self, request: Request) -> list[str]:
        """Everyone; and for a token that authenticates, Authenticated, the userid, the
        principals claim and ``jwt-config:<name>`` of the config that accepted it.

        Principals taken from the token's claims never start with ``jwt-config:``: those
        are dropped, so a token cannot claim to come from another config.
        """
        result = self.authenticate(request)
        guard = result._guard
        if result.userid is None or result.claims is None or guard is None:
            return [Everyone]
        return principals_for(guard, result.userid, result.claims)

    def permits(self, request: Request, context: Any, permission: str) -> Any:
        """Pyramid's ACL check with :meth:`principals`. When the request's environ holds a
        list under :data:`PERMITS_RECORD` (the debug toolbar panel puts one there), each
        decision is appended to it as ``(policy, permission, result)``."""
        result = self._acl.permits(context, self.principals(request), permission)
        record = request.environ.get(PERMITS_RECORD)
        if type(record) is list:
            record.append((self, permission, result))
        return result

    def revoke(self, request: Request) -> bool:
        """Revoke the request's verified bearer token (and its refresh family): logout.

        Without a verified access token (it has expired, and its cookie with it), the refresh
        cookie the request carries ends its family. Returns False when there is nothing to
        revoke (no verified token or refresh cookie, or no revocation store); raises
        :class:`StoreUnavailableError` when the store cannot be reached, or could not be
        asked while authenticating.
        """
        result = self.authenticate(request)
        if result.reason == "store_unavailable":
            raise StoreUnavailableError("revocation store unreachable")
        guard = result._guard
        if result.claims is not None and guard is not None and guard.revocation is not None:
            guard.revocation.revoke(result.claims)
            result.state, result.identity, result.claims, result.userid = INVALID, None, None, None
            result.reason, result.revoked_by_app = "revoked", True
            return True
        return self._revoke_refresh_cookie(request)

    def _revoke_refresh_cookie(self, request: Request) -> bool:
        """End the family of the refresh cookie the request carries (logout once the access
        token has expired, when the access cookie is gone): True when one was ended."""
        for guard in self.cookie_guards:
            assert guard.cookies is not None
            token = guard.cookies.read(request, "refresh")
            revocation = guard.revocation
            if token is None or revocation is None or revocation.refresh_verifier is None:
                continue
            try:
                claims = revocation.refresh_verifier.verify(token)
            except InvalidTokenError:
                continue  # expired or forged: there is nothing it could still refresh
            revocation.revoke(claims)
            return True
        return False

    def remember(self, request: Request, userid: Any, **kw: Any) -> Sequence[tuple[str, str]]:
        """Log ``userid`` in: the ``Set-Cookie`` headers of a fresh token (with its refresh token
        and CSRF cookie) for a config whose tokens travel in cookies.

        The payload is ``{<userid_claim>: userid, **kw}`` (nested under ``claims_key`` as the
        config says); ``jwt_config=name`` picks the config (default: the first listed cookie
        config). Bearer-only configs remember nothing by headers: ``[]``, as before.
        """
        name = kw.pop("jwt_config", None)
        guards = [g for g in self.cookie_guards if name is None or g.name == name]
        if not guards:
            if name is not None and all(g.name != name for g in self.guards):
                raise LookupError(f"jwt config {name!r} is not one of this policy's: {self.configs}")
            return []
        guard = guards[0]
        assert guard.cookies is not None
        if guard.issue is None:
            raise LookupError(f"jwt config {guard.name!r} cannot issue tokens: it has no signing key")
        userid = str(userid)
        if guard.userid_prefix and userid.startswith(guard.userid_prefix):
            userid = userid[len(guard.userid_prefix):]  # what authenticated_userid gave back
        issued = guard.issue(_payload_for(guard, userid, kw))
        return guard.cookies.deliver(issued)

    def forget(self, request: Request, **kw: Any) -> Sequence[tuple[str, str]]:
        """Log out: revoke the presented token and its refresh family when the config keeps a
        revocation store (:meth:`revoke`), and for cookie configs return the headers that clear
        the cookies (a bearer client drops its token itself)."""
        guard = self.authenticate(request)._guard
        self.revoke(request)
        if guard is not None and guard.cookies is not None:
            return guard.cookies.clear()
        return [header for g in self.cookie_guards if g.cookies for header in g.cookies.clear()]

    def csrf_value(self, request: Request) -> str | None:
        """The CSRF value a state-changing request must carry, when a cookie authenticated it
        (the token's ``csrf`` claim); ``None`` when no cookie did (nothing to check)."""
        result = self.authenticate(request)
        if result.source != "cookie" or result.claims is None:
            return None
        value = result.claims.get("csrf")
        return value if isinstance(value, str) else ""

    # -- RFC 6750 answers --------------------------------------------------------------

    def challenge(self, request: Request) -> Response:
        """The 401/400/403 answer for a request this policy did not let through (RFC 6750 §3),
        or the 503 of :func:`~pyramid_jwtnode.integration.responses.unavailable_view` when its
        token could not be checked."""
        result = self.authenticate(request)
        if result.error is not None:
            return unavailable_view(result.error, request)
        return bearer_challenge(self.realm, _ERRORS[result.state])


def _payload_for(guard: _Guard, userid: str, claims: dict[str, Any]) -> Any:
    """The payload whose token names ``userid`` at the config's ``userid_claim``."""
    path = list(guard.userid_path)
    if guard.claims_key is not None:
        if path[0] != guard.claims_key or len(path) < 2:
            raise ValueError(f"jwt config {guard.name!r}: userid_claim {'.'.join(path)!r} lies outside "
                             f"claims_key {guard.claims_key!r}, so remember() cannot place the userid")
        path = path[1:]
    payload: dict[str, Any] = dict(claims)
    node = payload
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = userid
    return payload


def principals_for(guard: _Guard, userid: str, claims: dict[str, Any]) -> list[str]:
    """The principals of a request whose token ``guard``'s config verified, naming ``userid``:
    Everyone, Authenticated, the userid, the principals claim, and ``jwt-config:<name>`` (a
    token's own claims can never give one)."""
    from_claims = [userid]
    if guard.principals_path is not None:
        from_claims.extend(_as_principals(claim_at(claims, guard.principals_path)))
    return [Everyone, Authenticated, *(p for p in from_claims if not p.startswith(CONFIG_PRINCIPAL)),
            CONFIG_PRINCIPAL + guard.name]


def _as_principals(value: Any) -> Iterable[str]:
    """A principals claim: a space-separated string (``scope``) or a list of strings."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
