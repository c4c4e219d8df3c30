"""Choosing which of several configs checks a token, without trying every key.

A security policy may accept the tokens of several configs (staff, partners, an identity
provider). :class:`ConfigChooser` picks the config from the token itself, in this order:

1. the header's ``kid`` is exactly a key id of one config (its current or a previous key), or
   a key that remote key sets hold at that moment: then the config whose issuer is the
   token's unverified ``iss`` is tried first (one identity provider may serve several
   tenants, each a config, with one key set), then the configs whose set holds the ``kid``;
2. else the unverified ``iss`` claim equals one config's issuer (configured, or found in
   its discovery document once that was fetched: choosing never waits on the network);
3. else the configs whose pinned algorithm is the header's ``alg`` (a token without ``kid``
   only the configs whose tokens carry none): first those with keys of their own, in the
   order they are listed, then those fed by a remote key set; each is tried in turn and the
   first that verifies wins. A config whose key set has not been fetched yet is fetched
   here, on a token that may be its own, never for another config's token.

Whatever is chosen, the token is then verified by that config's own verifier, with its own
pinned algorithm, keys, issuer, audience, leeway and ``typ``: a token of one config is never
checked with another's rules. A list whose configs cannot be told apart (two configs signing
with one algorithm, neither with key ids nor with distinct issuers) is refused when the
chooser is built.

The chooser remembers only what a *verified* token proved: which config verified that exact
token, and the parsed header of a header that a verified token carried. Nothing a forged
token holds enters a cache, so no token can change how another one is chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Generic, Protocol, TypeVar

from ..exceptions import InvalidTokenError, KeySetUnavailableError, MalformedTokenError
from .memo import Verified
from .verifier import Verifier, peek_claims, peek_header

__all__ = ["Choosable", "ConfigChooser", "IndistinguishableError"]

_CACHE_SIZE: Final = 1024

C = TypeVar("C", bound="Choosable")


class IndistinguishableError(ValueError):
    """Two configs' tokens could not be told apart; ``fix`` says what to set."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


class Choosable(Protocol):
    """What the chooser needs of a config (the security policy's per-config object is one)."""

    @property
    def name(self) -> str: ...

    @property
    def algorithm(self) -> str:
        """The pinned algorithm."""

    @property
    def kids(self) -> frozenset[str]:
        """Key ids its tokens carry (local keys); empty when its tokens carry none, or when they
        come from a remote key set (whose ids change)."""

    @property
    def static_issuer(self) -> str | None:
        """The configured issuer of its tokens, if any."""

    @property
    def remote(self) -> bool:
        """Whether its keys come from a remote key set."""

    @property
    def verifier(self) -> Verifier: ...

    def issuer(self) -> str | None:
        """The issuer of its tokens as known now (configured, or from a discovery document
        already fetched): never fetches."""

    def holds(self, kid: str) -> bool:
        """For a remote key set: whether it holds a key of that id right now (never fetches)."""


class ConfigChooser(Generic[C]):
    """Picks the config that checks a token and verifies it with that config's verifier. The
    candidates are any objects with the attributes of :class:`Choosable`; :meth:`verify`
    returns the one chosen."""

    def __init__(self, candidates: Sequence[C]) -> None:
        if not candidates:
            raise ValueError("no candidates")
        _check_distinguishable(candidates)
        self.candidates = tuple(candidates)
        self._single = self.candidates[0] if len(self.candidates) == 1 else None
        self._by_kid = {kid: c for c in candidates for kid in c.kids}
        self._with_issuer = any(c.static_issuer is not None or c.remote for c in candidates)
        self._remote = tuple(c for c in candidates if c.remote)
        # The fallback by alg: local configs first (no fetch for a token they verify), then
        # remote ones; with a kid, every config of the alg; without, those whose tokens carry none.
        ordered = sorted(candidates, key=lambda c: c.remote)
        self._by_alg = {c.algorithm: tuple(o for o in ordered if o.algorithm == c.algorithm)
                        for c in candidates}
        self._by_alg_kidless = {alg: tuple(o for o in same if not o.kids)
                                for alg, same in self._by_alg.items()}
        # Headers a verified token carried -> (kid, alg). Only verified tokens get in.
        self._headers: Verified[bytes, tuple[Any, Any]] = Verified(_CACHE_SIZE)
        # Tokens that verified -> who verified them (bounded; only verified tokens get in).
        self._recent: Verified[str, C] = Verified(_CACHE_SIZE)

    def verify(self, token: str) -> tuple[C, dict[str, Any]]:
        """The chosen candidate and the token's claims; ``InvalidTokenError`` (or
        ``KeySetUnavailableError`` when a chosen remote key set cannot be fetched) otherwise."""
        single = self._single
        if single is not None:  # nothing to choose
            try:
                return single, single.verifier.verify(token)
            except (InvalidTokenError, KeySetUnavailableError) as exc:
                exc.config = single.name
                raise
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
            self._remember(token, candidate)
            return candidate, claims
        assert refusal is not None
        raise refusal

    def choose(self, token: str) -> tuple[C, ...]:
        """The candidates to try, in order (see the module's docstring)."""
        segment = token.partition(".")[0].encode("ascii", "replace")
        parsed = self._headers.get(segment)
        if parsed is None:
            try:
                header = peek_header(token)[1]
            except (MalformedTokenError, UnicodeError):
                return self.candidates[:1]  # its verifier says precisely what is wrong
            parsed = header.get("kid"), header.get("alg")
        # A header's alg may be any JSON value: only a string can name one (a list or an object,
        # unhashable, failed the lookup below with a TypeError; the verifier refuses it).
        kid, alg = parsed
        if isinstance(kid, str):
            owner = self._by_kid.get(kid)
            if owner is not None:
                return (owner,)
            holders = tuple(c for c in self._remote if c.holds(kid))
            if holders:
                # One identity provider may serve several tenants (configs) with one key set,
                # some not fetched yet: the config of the token's own issuer first.
                own = self._by_issuer(token)
                return own + tuple(c for c in holders if c not in own)
        if self._with_issuer:
            by_issuer = self._by_issuer(token)
            if by_issuer:
                return by_issuer
        same_alg = (self._by_alg if kid is not None else self._by_alg_kidless).get(alg, ()) \
            if isinstance(alg, str) else ()
        return same_alg or self.candidates[:1]

    def _by_issuer(self, token: str) -> tuple[C, ...]:
        iss = self._unverified_iss(token)
        if iss is None:
            return ()
        # issuer() never fetches: a discovery config not fetched yet matches nothing yet.
        return tuple(c for c in self.candidates if (c.static_issuer or c.issuer()) == iss)[:1]

    @staticmethod
    def _unverified_iss(token: str) -> str | None:
        try:
            iss = peek_claims(token).get("iss")
        except MalformedTokenError:
            return None
        return iss if isinstance(iss, str) else None

    def _remember(self, token: str, candidate: C) -> None:
        """Called only once ``candidate`` verified ``token``."""
        self._recent.remember(token, candidate)
        segment = token.partition(".")[0].encode("ascii")
        if segment not in self._headers:
            header = peek_header(token)[1]
            self._headers.remember(segment, (header.get("kid"), header.get("alg")))


def _check_distinguishable(candidates: Sequence[Choosable]) -> None:
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
