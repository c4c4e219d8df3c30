"""Choosing which of several configs checks a token, without trying every key.

A security policy may accept the tokens of several configs (staff, partners, an identity
provider). :class:`ConfigChooser` picks the config from the token itself, in this order:

1. the header's ``kid`` is exactly a key id of one config (its current or a previous key, or
   a key its remote key set holds at that moment);
2. else the unverified ``iss`` claim equals one config's issuer (configured, or found in
   its discovery document);
3. else the configs whose pinned algorithm is the header's ``alg``, in the order they are
   listed, each tried in turn (a token without ``kid`` only by the configs whose tokens carry
   none); the first that verifies wins.

Whatever is chosen, the token is then verified by that config's own verifier, with its own
pinned algorithm, keys, issuer, audience, leeway and ``typ``: a token of one config is never
checked with another's rules. A list whose configs cannot be told apart (two configs signing
with one algorithm, neither with key ids nor with distinct issuers) is refused when the
chooser is built.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Final, Generic, TypeVar

from .exceptions import InvalidTokenError, KeySetUnavailableError, MalformedTokenError
from .verifier import Verifier, peek_claims, peek_header

__all__ = ["Candidate", "ConfigChooser", "IndistinguishableError"]

_CACHE_SIZE: Final = 1024

T = TypeVar("T")


class IndistinguishableError(ValueError):
    """Two configs' tokens could not be told apart; ``fix`` says what to set."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


@dataclasses.dataclass(frozen=True)
class Candidate(Generic[T]):
    """One config a chooser may pick: what identifies its tokens, its verifier, and ``value``
    (whatever the caller wants back with the choice, e.g. the policy's per-config state)."""

    name: str
    algorithm: str
    #: key ids its tokens carry (local keys); empty when its tokens carry none, or when they
    #: come from a remote key set (whose ids change)
    kids: frozenset[str]
    #: the issuer of its tokens: configured (``str``), or found later by ``issuer()``
    static_issuer: str | None
    issuer: Callable[[], str | None]
    remote: bool
    verifier: Verifier
    value: T
    #: for a remote key set: whether it holds a key of that id right now
    holds: Callable[[str], bool] = lambda kid: False


class ConfigChooser(Generic[T]):
    """Picks the candidate that checks a token and verifies it with that candidate's verifier."""

    def __init__(self, candidates: Sequence[Candidate[T]]) -> None:
        if not candidates:
            raise ValueError("no candidates")
        _check_distinguishable(candidates)
        self.candidates = tuple(candidates)
        self._by_kid = {kid: c for c in candidates for kid in c.kids}
        self._with_issuer = any(c.static_issuer is not None or c.remote for c in candidates)
        self._remote = tuple(c for c in candidates if c.remote)
        self._by_header: dict[bytes, tuple[Candidate[T], ...]] = {}
        # Tokens that verified -> who verified them (bounded; only verified tokens get in).
        self._recent: dict[str, Candidate[T]] = {}

    def verify(self, token: str) -> tuple[Candidate[T], dict[str, Any]]:
        """The chosen candidate and the token's claims; ``InvalidTokenError`` (or
        ``KeySetUnavailableError`` when a chosen remote key set cannot be fetched) otherwise."""
        known = self._recent.get(token)
        if known is not None:
            try:
                return known, known.verifier.verify(token)
            except (InvalidTokenError, KeySetUnavailableError) as exc:  # expired since, say
                exc.config = known.name
                raise
        refusal: InvalidTokenError | KeySetUnavailableError | None = None
        for candidate in self.choose(token):
            try:
                claims = candidate.verifier.verify(token)
            except (InvalidTokenError, KeySetUnavailableError) as exc:
                if refusal is None or isinstance(exc, KeySetUnavailableError):
                    refusal = exc  # "cannot check now" outweighs "not this one"
                    refusal.config = candidate.name
                continue
            if len(self._recent) >= _CACHE_SIZE:
                self._recent.clear()
            self._recent[token] = candidate
            return candidate, claims
        assert refusal is not None
        raise refusal

    def choose(self, token: str) -> tuple[Candidate[T], ...]:
        """The candidates to try, in order (see the module's docstring)."""
        try:
            segment, header = peek_header(token)
        except (MalformedTokenError, UnicodeError):
            return self.candidates[:1]  # its verifier says precisely what is wrong
        cached = self._by_header.get(segment)
        if cached is not None:
            return cached
        kid, alg = header.get("kid"), header.get("alg")
        if isinstance(kid, str):
            owner = self._by_kid.get(kid) or next((c for c in self._remote if c.holds(kid)), None)
            if owner is not None:
                return self._remember(segment, (owner,))
        if self._with_issuer:
            by_issuer = self._by_issuer(token)
            if by_issuer:
                return by_issuer  # depends on the payload: not remembered by header
        same_alg = tuple(c for c in self.candidates if c.algorithm == alg
                         and (kid is not None or not c.kids))
        return self._remember(segment, same_alg or self.candidates[:1])

    def _by_issuer(self, token: str) -> tuple[Candidate[T], ...]:
        try:
            iss = peek_claims(token).get("iss")
        except MalformedTokenError:
            return ()
        if not isinstance(iss, str):
            return ()
        return tuple(c for c in self.candidates
                     if (c.static_issuer or (c.issuer() if c.remote else None)) == iss)[:1]

    def _remember(self, segment: bytes, chosen: tuple[Candidate[T], ...]) -> tuple[Candidate[T], ...]:
        if len(self._by_header) >= _CACHE_SIZE:
            self._by_header.clear()
        self._by_header[segment] = chosen
        return chosen


def _check_distinguishable(candidates: Sequence[Candidate[Any]]) -> None:
    owners: dict[str, str] = {}
    for c in candidates:
        for kid in c.kids:
            if kid in owners and owners[kid] != c.name:
                raise IndistinguishableError(
                    f"configs {owners[kid]} and {c.name} both have a key with the id {kid!r}",
                    f"give the keys of jwt.{c.name} ids of their own (jwt.{c.name}.kid, "
                    f"jwt.{c.name}.previous_keys)",
                )
            owners[kid] = c.name
    for i, a in enumerate(candidates):
        for b in candidates[i + 1:]:
            if a.algorithm != b.algorithm or a.kids or b.kids:
                continue
            a_iss = a.static_issuer or (f"(discovered by {a.name})" if a.remote else None)
            b_iss = b.static_issuer or (f"(discovered by {b.name})" if b.remote else None)
            if a_iss is not None and b_iss is not None and a_iss != b_iss:
                continue
            raise IndistinguishableError(
                f"configs {a.name} and {b.name} both sign with {a.algorithm} and their tokens "
                "cannot be told apart (neither carries a key id, and they share no issuer of "
                "their own)",
                f"give one of them a key id (jwt.{a.name}.kid) or each its own issuer "
                f"(jwt.{a.name}.issuer, jwt.{b.name}.issuer)",
            )
