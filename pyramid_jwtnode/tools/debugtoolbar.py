"""A pyramid_debugtoolbar panel: what the jwt security policy decided for each request, and why.

For every request the toolbar records, the panel "JWT" shows, for each jwt security policy:
where the token came from (the ``Authorization`` header, a cookie, the ``access_token`` query
parameter), the config that checked it and how that config was chosen, the outcome with its
reason code and a one-line fix, each check in order (the steps of ``pjwt explain``), the
token's header and claims (never its signature), the user id and principals, and each ACL
decision the policy made for the request: the permission, allowed or denied, and the ACL
entry that decided. Enable it in a development ini file (needs the ``debugtoolbar`` extra)::

    pyramid.includes = pyramid_debugtoolbar
    debugtoolbar.includes = pyramid_jwtnode.tools.debugtoolbar

The panel only reads what the policy decided for the request; when nothing asked (a view
without a permission), it says so, and shows what the policy would decide. Never enable the
toolbar in production: it keeps recent requests in memory and its own panels (headers,
request variables) show the raw ``Authorization`` header and cookies.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from typing import Any, Final

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.interfaces import ISecurityPolicy
from pyramid.request import Request
from pyramid.response import Response
from pyramid_debugtoolbar.panels import DebugPanel

from ..exceptions import JWTNodeError
from ..integration.policy import PERMITS_RECORD, BearerResult, JWTSecurityPolicy
from ..integration.request import policies_of
from ..jose.verifier import peek_claims, peek_header
from .explain import FIXES, Step, explain

__all__ = ["JWTDebugPanel", "PolicyReport", "AclDecision", "report", "app_policies", "deciding_policies",
           "includeme"]

log = logging.getLogger(__name__)

#: Where a token came from, in words.
SOURCES: Final = {"header": "Authorization header", "query": "access_token query parameter",
                  "cookie": "cookie"}
#: The longest claims text the panel keeps for a request (characters).
MAX_CLAIMS_TEXT: Final = 8000


@dataclasses.dataclass(frozen=True)
class AclDecision:
    """One ``permits`` decision: the permission, its verdict and the ACL entry that decided."""

    permission: str
    allowed: bool
    ace: str
    where: str


@dataclasses.dataclass(frozen=True)
class PolicyReport:
    """What one jwt security policy made of a request. No field ever holds a signature."""

    configs: tuple[str, ...]
    #: ``security policy`` (the app's), or ``route`` (an add-on route's own check)
    role: str
    #: ``accepted``, ``refused``, ``malformed``, ``unavailable``, ``no token`` (nothing
    #: presented), ``not checked`` (a token was presented, but nothing asked the policy) or
    #: ``panel error`` (the panel could not explain it: logged, the reason names the exception)
    outcome: str
    source: str | None = None
    config: str | None = None
    chosen_by: str | None = None
    reason: str | None = None
    fix: str | None = None
    steps: tuple[Step, ...] = ()
    header: str | None = None
    signature: str | None = None
    claims: str | None = None
    signature_matched: bool = False
    userid: str | None = None
    principals: tuple[str, ...] = ()
    would: str | None = None
    decisions: tuple[AclDecision, ...] = ()

    @property
    def summary(self) -> str:
        """A few words for the toolbar's tab: the outcome, with the reason of a refusal."""
        return f"{self.outcome}: {self.reason}" if self.reason and self.outcome != "accepted" else self.outcome


def report(request: Request, policy: JWTSecurityPolicy,
           decisions: Sequence[tuple[JWTSecurityPolicy, str, Any]] = ()) -> PolicyReport:
    """What ``policy`` decided for ``request`` (after the app has answered it), explained.

    ``decisions`` are the ``permits`` calls recorded for the request (under
    :data:`~pyramid_jwtnode.integration.policy.PERMITS_RECORD`); those of ``policy`` are kept.
    Explaining checks the token again, as ``pjwt explain`` does, and a request nothing asked
    about is decided once more (:meth:`~JWTSecurityPolicy.would_decide`): the revocation store
    is asked again, a remote key set may be fetched, no metrics are counted and nothing is logged.
    """
    acl = tuple(_acl_decision(permission, result) for who, permission, result in decisions if who is policy)
    state, value, source, cookie_config = policy.presented(request)
    decided = policy.decided(request)
    role = "security policy" if policy in app_policies(request) else "route"
    base: dict[str, Any] = {"configs": tuple(policy.configs), "role": role, "decisions": acl,
                            "source": _source(source, cookie_config, policy)}
    if state == "absent":
        return PolicyReport(outcome="no token", **base)
    would = None
    if decided is None:  # nothing asked the policy: what it would have decided
        decided, would = policy.would_decide(request), ""
    if state == "malformed":
        outcome, reason = _outcome(decided)
        if would is not None:
            return PolicyReport(outcome="not checked", would=f"{outcome} ({reason})", config=policy.configs[0], **base)
        return PolicyReport(outcome=outcome, reason=reason, config=policy.configs[0], **base)
    assert value is not None
    explained = explain(policy, value, cookie_config)
    if cookie_config is not None:
        explained.chosen_by = "the cookie's name says whose token it is"
    facts = _token_facts(value, decided, explained.claims)
    outcome, reason = _outcome(decided)
    config = decided.config or explained.config
    steps = (*explained.steps, *_request_steps(policy, config, source, decided))
    fix = explained.fix if reason == explained.reason else FIXES.get(reason or "")
    if fix is not None and "{" in fix:
        fix = None  # a template whose facts belong to another reason
    if would is not None:
        would = outcome if reason is None else f"{outcome} ({reason})"
        return PolicyReport(outcome="not checked", config=config, chosen_by=explained.chosen_by, steps=steps,
                            would=would, fix=fix if reason else None, **facts, **base)
    principals: tuple[str, ...] = ()
    if decided.userid is not None:
        principals = tuple(policy.principals(request))
    return PolicyReport(outcome=outcome, config=config, chosen_by=explained.chosen_by, reason=reason, fix=fix,
                        steps=steps, userid=decided.userid, principals=principals, **facts, **base)


def _outcome(result: BearerResult) -> tuple[str, str | None]:
    """The outcome's words and reason code: a token the app revoked while the request ran (a
    logout) was accepted first."""
    if result.revoked_by_app:
        return "accepted, then revoked by the app (logout)", None
    return {"valid": "accepted", "invalid": "refused"}.get(str(result.state), str(result.state)), result.reason


def _request_steps(policy: JWTSecurityPolicy, config: str | None, source: str | None,
                   result: BearerResult) -> tuple[Step, ...]:
    """The checks only a request has: may the token come from where it came, and what the
    config's ``identity`` callable made of it."""
    guard = next((g for g in policy.guards if g.name == config), None)
    if guard is None or source is None:
        return ()
    allowed = {"header": guard.header, "query": guard.query_token}.get(source, True)
    where = SOURCES.get(source, source)
    steps = [Step("source", allowed, f"{where}: {'taken' if allowed else 'not taken'} by config {config}")]
    if guard.identity is not None and (result.reason == "identity_refused" or result.userid is not None):
        steps.append(Step("identity", result.reason != "identity_refused",
                          "the identity callable returned None" if result.reason == "identity_refused"
                          else "the identity callable accepted the claims"))
    return tuple(steps)


def app_policies(request: Request) -> list[JWTSecurityPolicy]:
    """The app's jwt security policies: those the directives made, and the app's security policy
    when it is one (``config.set_security_policy(JWTSecurityPolicy.from_node(...))``)."""
    policies = list(policies_of(request))
    registered = request.registry.queryUtility(ISecurityPolicy)
    if isinstance(registered, JWTSecurityPolicy) and registered not in policies:
        policies.insert(0, registered)
    return policies


def _source(source: str | None, cookie_config: str | None, policy: JWTSecurityPolicy) -> str | None:
    if source is None:
        return None
    if source == "cookie":
        guard = next(g for g in policy.cookie_guards if g.name == cookie_config)
        assert guard.cookies is not None
        return f"cookie {guard.cookies.access} (config {cookie_config})"
    return SOURCES.get(source, source)


def _token_facts(token: str, decided: BearerResult | None, explained: dict[str, Any] | None) -> dict[str, Any]:
    """The token's header and claims as text, and its signature's length: never the signature."""
    facts: dict[str, Any] = {"signature": f"masked ({len(token.rpartition('.')[2])} characters)"}
    try:
        facts["header"] = json.dumps(peek_header(token)[1], indent=2, sort_keys=True, default=str)
    except (JWTNodeError, UnicodeError, ValueError):
        facts["header"] = None
    claims, verified = (decided.claims, True) if decided is not None and decided.claims is not None else (None, False)
    if claims is None and explained is not None:
        claims = explained  # the signature matched: checked against the config's key
        verified = True
    if claims is None:
        try:
            claims = peek_claims(token)
        except (JWTNodeError, UnicodeError, ValueError):
            claims = None
    if claims is not None:
        text = json.dumps(claims, indent=2, sort_keys=True, default=str)
        facts["claims"] = text if len(text) <= MAX_CLAIMS_TEXT else text[:MAX_CLAIMS_TEXT] + "\n…"
    facts["signature_matched"] = verified
    return facts


def _acl_decision(permission: str, result: Any) -> AclDecision:
    """What Pyramid's ``ACLAllowed``/``ACLDenied`` says: the entry that decided, and where."""
    ace = getattr(result, "ace", None)
    where = getattr(result, "context", None)
    if isinstance(ace, tuple):
        ace_text = f"({', '.join(str(part) for part in ace)})"
    else:
        ace_text = str(ace) if ace is not None else str(result)
    where_text = type(where).__name__ if where is not None else "-"
    if isinstance(getattr(result, "acl", None), str):  # "<No ACL found on any object in resource lineage>"
        where_text = result.acl
    return AclDecision(str(permission), bool(result), ace_text, where_text)


class JWTDebugPanel(DebugPanel):  # type: ignore[misc]  # DebugPanel is untyped (Any)
    """The toolbar's "JWT" tab (one instance per request, made by the toolbar)."""

    #: the panel's name (its tab's HTML id is ``pDebugPanel-jwt``)
    name = "jwt"
    #: the tab always has content
    has_content = True
    #: the Mako template that renders :attr:`reports`
    template = "pyramid_jwtnode.tools:templates/jwt_panel.dbtmako"
    #: the panel's heading
    title = "JSON Web Tokens"
    #: the tab's label (its badge: the first decided report's :attr:`PolicyReport.summary`)
    nav_title = "JWT"

    def __init__(self, request: Request) -> None:
        self._request: Request | None = request
        self._decisions: list[tuple[JWTSecurityPolicy, str, Any]] = []
        request.environ[PERMITS_RECORD] = self._decisions  # the policies record their ACL decisions
        #: what each policy decided for the request, once the app has answered it
        self.reports: list[PolicyReport] = []

    def process_response(self, response: Response) -> None:
        request, self._request = self._request, None  # the toolbar keeps panels: drop the request
        if request is None:
            return
        self.reports = [self._report(request, policy) for policy in deciding_policies(request)]
        request.environ.pop(PERMITS_RECORD, None)  # the decisions' contexts stay with the request no longer
        self._decisions = []
        self.data = {"reports": self.reports}
        if self.reports:
            shown = next((r for r in self.reports if r.outcome != "not checked"), self.reports[0])
            self.nav_subtitle = shown.summary

    def _report(self, request: Request, policy: JWTSecurityPolicy) -> PolicyReport:
        """:func:`report`, or what went wrong making it: the toolbar runs this after the app has
        answered, and a panel that raised would turn the app's answer into an error."""
        try:
            return report(request, policy, self._decisions)
        except Exception as exc:  # noqa: BLE001 - shown in the panel, logged, never raised
            # The type only: an exception's message may quote the token's bytes.
            log.error("the jwt debug toolbar panel could not explain a request (%s)", type(exc).__name__)
            role = "security policy" if policy in app_policies(request) else "route"
            return PolicyReport(tuple(policy.configs), role, outcome="panel error", reason=type(exc).__name__)


def deciding_policies(request: Request) -> list[JWTSecurityPolicy]:
    """The app's jwt security policies, then any other that decided for ``request``: the own
    check of an add-on route (a verify route, say), in the order they decided."""
    policies = app_policies(request)
    for value in list(request.__dict__.values()):
        if isinstance(value, BearerResult) and value.policy is not None and value.policy not in policies:
            policies.append(value.policy)
    return policies


def includeme(config: Configurator) -> None:
    """Add the panel to pyramid_debugtoolbar (name this module in ``debugtoolbar.includes``)."""
    if not hasattr(config, "add_debugtoolbar_panel"):
        raise ConfigurationError(
            "pyramid_jwtnode.tools.debugtoolbar is a panel of pyramid_debugtoolbar, included by the "
            "toolbar itself. Fix: set debugtoolbar.includes = pyramid_jwtnode.tools.debugtoolbar (and "
            "pyramid.includes = pyramid_debugtoolbar) instead of including it in the app.")
    config.add_debugtoolbar_panel(JWTDebugPanel)
