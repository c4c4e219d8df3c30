"""Why a token is accepted or refused: the decision of the app's security policy, explained.

:func:`explain` walks the checks the policy makes, in order, with the verifier's own
functions (not a copy that could drift), and takes the verdict from the policy itself
(:meth:`~pyramid_jwtnode.JWTSecurityPolicy.check_token`): which config checks the token and
how it was chosen, each check with pass or fail, the principals the policy would give, and for
a refusal its reason code and a one-line fix. ``pjwt explain`` prints it. Nothing here shows
the signature, a secret or a key.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from ..exceptions import InvalidTokenError, JWTNodeError
from ..integration.policy import JWTSecurityPolicy, principals_for
from ..jose.claims import userid_of
from ..jose.verifier import _b64decode, peek_claims, peek_header

__all__ = ["Explanation", "Step", "explain", "FIXES"]

#: One line a refusal's reason code comes with: what to do about it. ``{...}`` are filled in.
FIXES: dict[str, str] = {
    "expired": "exp {exp} is {late} past (leeway {leeway} s); mint a new one, or raise expires_in",
    "nbf_future": "nbf {nbf} is still ahead; use it later, or check the issuer's clock",
    "iat_future": "iat {iat} is in the future; check the issuer's clock (leeway {leeway} s)",
    "iss_mismatch": "the token says iss {seen_iss!r}; the config expects {expected_iss!r}",
    "iss_missing": "the token has no iss; the config expects {expected_iss!r}",
    "aud_mismatch": "the token is for aud {seen_aud!r}; the config accepts {expected_aud!r}",
    "aud_missing": "the token has no aud; the config accepts {expected_aud!r}",
    "aud_unexpected": "the token carries aud {seen_aud!r} but the config sets no audience",
    "alg_not_allowed": "the token is signed with {seen_alg}; the config pins {expected_alg}",
    "alg_missing": "the token's header names no algorithm; the config pins {expected_alg}",
    "bad_signature": "the signature does not match the config's key: signed with another secret or key",
    "unknown_kid": "kid {kid!r} is not one of the config's keys; rotate it in (previous_keys) or fix the kid",
    "typ": "the token's typ is {typ!r}; the config asks for {expected_typ!r}",
    "no_userid": "the token has no user id in {userid_claim!r}; the policy needs one there",
    "revoked": "the token, or its refresh family, was revoked (logout or revocation)",
    "subject_revoked": "every token of its user issued before a revoke-all was revoked; log in again",
    "too_large": "the token is longer than max_token_bytes ({max_bytes})",
    "exp_missing": "the token has no exp; every token must expire",
    "header_not_allowed": "this config takes its tokens from its cookies only; send the token in its cookie",
    "query_token_not_allowed": ("this config takes no token from the URL; send it in the Authorization "
                                "header, or set query_token = true"),
    "identity_refused": "the config's identity callable returned None for these claims",
    "store_unavailable": "the revocation store cannot be reached; check it (the app answers 503 meanwhile)",
    "key_set_unavailable": "the remote key set cannot be fetched; check jwks_url (the app answers 503 meanwhile)",
}


@dataclasses.dataclass
class Step:
    """One check: its name, whether it passed (``None``: not reached), and what it saw."""

    name: str
    ok: bool | None
    detail: str = ""


@dataclasses.dataclass
class Explanation:
    """What the policy decides about a token, and why."""

    config: str | None
    chosen_by: str
    steps: list[Step]
    accepted: bool
    reason: str | None = None
    fix: str | None = None
    principals: list[str] = dataclasses.field(default_factory=list)
    claims: dict[str, Any] | None = None

    def lines(self) -> list[str]:
        """The explanation as the text ``pjwt explain`` prints."""
        out = [f"config: {self.config or '(none)'} ({self.chosen_by})"]
        for step in self.steps:
            mark = {True: "pass", False: "FAIL", None: "----"}[step.ok]
            out.append(f"  [{mark}] {step.name}" + (f": {step.detail}" if step.detail else ""))
        if self.accepted:
            out.append("accepted; principals: " + ", ".join(self.principals))
        else:
            out.append(f"refused ({self.reason})" + (f": {self.fix}" if self.fix else ""))
        return out


def _when(seconds: Any) -> str:
    try:
        return datetime.datetime.fromtimestamp(float(seconds), datetime.UTC).strftime("%Y-%m-%dT%H:%MZ")
    except (TypeError, ValueError, OverflowError, OSError):
        return repr(seconds)


def _duration(seconds: float) -> str:
    seconds = abs(int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def explain(policy: JWTSecurityPolicy, token: str, config: str | None = None) -> Explanation:
    """Explain what ``policy`` decides about ``token`` (checked by ``config`` when named)."""
    token = token.strip()
    guard, chosen_by = _choose(policy, token, config)
    steps: list[Step] = []
    facts: dict[str, Any] = {}
    claims: dict[str, Any] | None = None
    if guard is not None:
        claims = _walk(guard, token, steps, facts)
    try:
        name, verified = policy.check_token(token, config)
    except InvalidTokenError as exc:
        reason = exc.reason
        template = FIXES.get(reason)
        try:
            fix = template.format(**facts) if template else None
        except (KeyError, IndexError):
            fix = None
        return Explanation(exc.config or (guard.name if guard else None), chosen_by, steps, False, reason,
                           fix, claims=claims)
    except JWTNodeError as exc:  # a store or key set that cannot be reached now
        return Explanation(guard.name if guard else None, chosen_by, steps, False, type(exc).__name__,
                           "the store or key set cannot be reached now; try again", claims=claims)
    chosen = next(g for g in policy.guards if g.name == name)
    return Explanation(name, chosen_by, steps, True, claims=verified,
                       principals=principals_for(chosen, chosen.userid_prefix + str(
                           userid_of(verified, chosen.userid_path)), verified))


def _choose(policy: JWTSecurityPolicy, token: str, config: str | None) -> tuple[Any, str]:
    if config is not None:
        return next((g for g in policy.guards if g.name == config), None), "named with --config"
    try:
        header = peek_header(token)[1]
    except (JWTNodeError, UnicodeError):
        return policy.guards[0], "its header cannot be read: the first config checks it"
    kid, alg = header.get("kid"), header.get("alg")
    try:
        iss = peek_claims(token).get("iss")
    except JWTNodeError:
        iss = None
    candidates = policy.chooser.choose(token)
    guard = candidates[0]
    if len(policy.guards) == 1:
        return guard, "the policy's only config"
    if isinstance(kid, str) and (kid in guard.kids or guard.holds(kid)):
        return guard, f"chosen by kid {_short(kid)}"
    if isinstance(iss, str) and (guard.static_issuer or guard.issuer()) == iss:
        return guard, f"chosen by iss {_short(iss)}"
    carrying = "" if isinstance(kid, str) else " whose tokens carry no kid"
    no_kid = f"no config holds kid {_short(kid)}" if kid is not None else "the token has no kid"
    no_iss = f"none has iss {_short(iss)}" if iss is not None else "no iss"
    return guard, (f"chosen by alg {_short(alg)}: {no_kid} and {no_iss}; the configs of that "
                   f"algorithm{carrying}, tried in order: {', '.join(c.name for c in candidates)}")


def _walk(guard: Any, token: str, steps: list[Step], facts: dict[str, Any]) -> dict[str, Any] | None:
    """The verifier's checks in order, with its own functions; the claims when they parse."""
    verifier = guard.verifier
    config = verifier.config
    clock = verifier._clock()
    facts.update(expected_alg=config.algorithm, expected_iss=verifier.known_issuer,
                 expected_aud=list(config.audience), leeway=config.leeway, max_bytes=config.max_token_bytes,
                 userid_claim=".".join(guard.userid_path), expected_typ=config.typ)
    size_ok = len(token) <= config.max_token_bytes
    steps.append(Step("size", size_ok, f"{len(token)} of at most {config.max_token_bytes} bytes"))
    try:
        segment, header = peek_header(token)
    except (JWTNodeError, UnicodeError):
        steps.append(Step("header", False, "not a compact JWS with a JSON header"))
        return None
    facts.update(seen_alg=header.get("alg"), kid=header.get("kid"), typ=header.get("typ"))
    steps.append(Step("header", True, ", ".join(f"{k} {_short(v)}" for k, v in header.items())))
    steps.append(Step("algorithm", header.get("alg") == config.algorithm,
                      f"{_short(header.get('alg'))}, pinned {config.algorithm}"))
    try:
        kid = verifier._kid_of(header)
        steps.append(Step("typ, crit, b64", True))
    except InvalidTokenError as exc:
        steps.append(Step("typ, crit, b64", exc.reason in ("alg_not_allowed", "alg_missing"), exc.reason))
        return None
    try:
        key = verifier._source.key_for(kid)
        steps.append(Step("key", True, f"kid {_short(kid)}" if kid is not None else "the config's key"))
    except JWTNodeError as exc:
        steps.append(Step("key", False, getattr(exc, "reason", type(exc).__name__)))
        return None
    signing_input, _, signature = token.rpartition(".")
    try:
        good = verifier._check(signing_input.encode("ascii"), key, _b64decode(signature.encode("ascii")))
    except (JWTNodeError, ValueError):
        good = False
    steps.append(Step("signature", good))
    if not good:
        return None
    claims = peek_claims(token)
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    facts.update(exp=_when(exp), nbf=_when(nbf), iat=_when(iat),
                 late=_duration(clock - exp) if isinstance(exp, (int, float)) else "?",
                 seen_iss=claims.get("iss"), seen_aud=claims.get("aud"))
    try:
        verifier._check_claims(dict(claims))
        steps.append(Step("exp, nbf, iat, iss, aud", True,
                          f"exp {_when(exp)}, now {_when(clock)}, leeway {config.leeway} s"))
    except InvalidTokenError as exc:
        seen_iss, expected_iss = claims.get("iss"), verifier.known_issuer
        issuer = (f"; iss {_short(seen_iss)} (expected {_short(expected_iss)})"
                  if seen_iss is not None or expected_iss is not None else "")  # no issuer anywhere: nothing to say
        steps.append(Step("exp, nbf, iat, iss, aud", False,
                          f"{exc.reason}: exp {_when(exp)}, now {_when(clock)}, leeway {config.leeway} s{issuer}"))
        return claims
    if guard.revocation is not None:
        try:
            guard.revocation.check(claims)
            steps.append(Step("revocation", True, "not revoked, subject not cut off"))
        except InvalidTokenError as exc:
            steps.append(Step("revocation", False, exc.reason))
            return claims
        except JWTNodeError as exc:  # the store cannot be reached now
            steps.append(Step("revocation", False, f"the store cannot be reached ({type(exc).__name__})"))
            return claims
    userid = userid_of(claims, guard.userid_path)
    steps.append(Step("user id", userid is not None,
                      f"{'.'.join(guard.userid_path)} = {_short(userid)}" if userid is not None
                      else f"no {'.'.join(guard.userid_path)} claim"))
    return claims
