"""The strict checks that decide whether a token is accepted.

A :class:`Verifier` parses the compact JWS itself, before any cryptography,
and refuses everything the configuration did not ask for; the signature is
checked with PyJWT's implementation of the *configured* algorithm and a key
loaded at start-up; the claims are checked only after the signature holds.

It closes the gaps PyJWT leaves (see docs/security.rst): the size of the token and
its header is capped before decoding; ``alg`` must equal the configured one;
``crit`` and ``b64`` are refused; ``typ`` is checked when configured; ``kid`` is
an exact-match lookup among configured keys and ``jku``/``x5u``/``jwk``/``x5c``
are never used; duplicate JSON member names, ``NaN``/``Infinity`` and
non-object JSON are refused; ``exp``/``nbf``/``iat`` must be JSON numbers (not
strings, not booleans) between 0 and 9999-12-31.

Every refusal is an :class:`~pyramid_jwtnode.exceptions.InvalidTokenError`
whose ``reason`` is a short code that is safe to log.
"""

from __future__ import annotations

import binascii
import json
import re
import time
from collections.abc import Callable
from typing import Any, Final

from ..exceptions import (
    ExpiredTokenError,
    ImmatureTokenError,
    InvalidClaimError,
    InvalidHeaderError,
    InvalidSignatureError,
    MalformedTokenError,
    UnknownKeyError,
)
from .keys import KeySet
from .limits import MAX_HEADER_SEGMENT, MAX_JSON_DEPTH, MAX_NUMERIC_DATE, REFRESH_TYP, shallow
from .memo import Verified
from .rules import TokenRules

__all__ = ["Verifier", "peek_header", "peek_claims"]


_HEADER_CACHE_SIZE: Final = 64
_VERIFIED_CACHE_SIZE: Final = 1024
_COMPACT: Final = re.compile(rb"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
_SEGMENT: Final = re.compile(rb"[A-Za-z0-9_-]+")


class _Duplicate(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` that refuses duplicate member names (RFC 7519 §4)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Duplicate
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


_decoder: Final = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_no_constant)


_TO_STANDARD: Final = bytes.maketrans(b"-_", b"+/")
_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#: For a segment of length 4n+2 (4n+3) the last character carries 2 (4) data bits; the
#: other 4 (2) bits must be zero, else a second spelling of the same bytes would pass.
_SPARE_BITS: Final = {2: 0x0F, 3: 0x03}


def _b64decode(segment: bytes) -> bytes:
    """Strict unpadded base64url (canonical encodings only) of a segment already known
    to hold only base64url characters."""
    remainder = len(segment) % 4
    if remainder == 1:
        raise MalformedTokenError("bad_base64")
    if remainder:
        if _ALPHABET.index(segment[-1]) & _SPARE_BITS[remainder]:
            raise MalformedTokenError("bad_base64")
        segment += b"=" * (4 - remainder)
    return binascii.a2b_base64(segment.translate(_TO_STANDARD))


def _json_object(segment: bytes, part: str) -> dict[str, Any]:
    return _parse_object(_text_of(segment, part), part)


def _text_of(segment: bytes, part: str) -> str:
    try:
        return _b64decode(segment).decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedTokenError(f"bad_{part}_json") from None


def _parse_object(text: str, part: str) -> dict[str, Any]:
    try:
        value = _decoder.decode(text)
    except _Duplicate:
        raise MalformedTokenError(f"duplicate_{part}_member") from None
    except RecursionError:
        raise MalformedTokenError(f"deep_{part}") from None
    except ValueError:  # JSONDecodeError, int too long
        raise MalformedTokenError(f"bad_{part}_json") from None
    if not isinstance(value, dict):
        raise MalformedTokenError(f"{part}_not_object")
    # With no more opening brackets than the depth limit, the text cannot nest deeper.
    if text.count("{") + text.count("[") > MAX_JSON_DEPTH and not shallow(value):
        raise MalformedTokenError(f"deep_{part}")
    return value


def _media_type(value: str) -> str:
    value = value.lower()
    return value[len("application/"):] if value.startswith("application/") else value


_MISSING: Final = object()


def _numeric_date(claims: dict[str, Any], name: str) -> float | None:
    """A NumericDate claim: a JSON number (not a string, not a boolean) in 0..9999-12-31."""
    value = claims.get(name, _MISSING)
    if value is _MISSING:
        return None
    # type() rather than isinstance(): bool is an int, and JSON gives exactly int or float.
    # NaN fails both comparisons and infinity the upper one.
    if type(value) in (int, float) and 0 <= value <= MAX_NUMERIC_DATE:
        return value  # type: ignore[no-any-return]
    raise InvalidClaimError(f"{name}_not_numeric_date")


def _why_not_compact(raw: bytes) -> MalformedTokenError | InvalidSignatureError:
    """The reason a token is not three non-empty base64url segments."""
    parts = raw.split(b".")
    if len(parts) != 3:
        return MalformedTokenError("segments")
    if not parts[2]:
        return InvalidSignatureError("empty_signature")
    return MalformedTokenError("bad_base64")


class Verifier:
    """Verifies tokens for one config; safe to share between threads."""

    def __init__(
        self, config: TokenRules, keys: KeySet, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config
        self._clock = clock
        self._algorithm = config.algorithm
        self._check = keys.checker()
        # Headers of verified tokens -> the kid they name, and recently verified tokens ->
        # their payload text and kid. Only tokens that passed every check get into either,
        # so nothing an attacker sends can; both are bounded by clearing when full.
        self._header_kids: Verified[bytes, str | None] = Verified(_HEADER_CACHE_SIZE)
        self._verified: Verified[str, tuple[str, str | None]] = Verified(_VERIFIED_CACHE_SIZE)
        self._source = keys.source
        self._remote = keys.remote
        self._generation = self._source.generation
        self._max_bytes = config.max_token_bytes
        self._typ = _media_type(config.typ) if config.typ is not None else None
        self._leeway = config.leeway
        self._issuer = config.issuer
        # A discovery config without a configured issuer learns it from the document.
        self._discovered = keys.remote if config.issuer is None and keys.remote is not None else None
        self._audience = frozenset(config.audience)

    @property
    def expected_issuer(self) -> str | None:
        """The ``iss`` tokens must carry: configured, or from the discovery document."""
        if self._discovered is not None:
            return self._discovered.issuer
        return self._issuer

    @property
    def known_issuer(self) -> str | None:
        """:attr:`expected_issuer` as far as it is known now: never fetches a discovery document."""
        if self._discovered is not None:
            return self._discovered.known_issuer
        return self._issuer

    def verify(self, token: str | bytes) -> dict[str, Any]:
        """The token's claims, or an ``InvalidTokenError`` saying why not.

        A config fed by a remote key set may raise ``KeySetUnavailableError`` instead: the
        set cannot be fetched and the token's key is not held (answer 503, not 401).
        """
        known = self._verified.get(token) if isinstance(token, str) else None
        if known is not None and self._remote is not None:
            # The key must still be held: a dict lookup and a clock compare while the set is
            # fresh; once it is due, a refresh (a withdrawn key raises UnknownKeyError).
            self._remote.key_for(known[1])
        if self._source.generation != self._generation:
            # The remote key set changed: what verified before is verified again.
            self._verified.clear()
            self._header_kids.clear()
            self._generation = self._source.generation
            known = None
        if known is not None:
            # The same bytes passed every check before: only time has moved. Parse again
            # so every caller gets claims of its own.
            claims = _parse_object(known[0], "payload")
            self._check_claims(claims)
            return claims
        if isinstance(token, str):
            if len(token) > self._max_bytes:
                raise MalformedTokenError("too_large")
            try:
                raw = token.encode("ascii")
            except UnicodeEncodeError:
                raise MalformedTokenError("not_ascii") from None
        elif isinstance(token, bytes):
            raw = token
        else:
            raise MalformedTokenError("not_text")
        if len(raw) > self._max_bytes:
            raise MalformedTokenError("too_large")
        match = _COMPACT.fullmatch(raw)
        if match is None:
            raise _why_not_compact(raw)
        header_b64, payload_b64, signature_b64 = match.groups()
        if len(header_b64) > MAX_HEADER_SEGMENT:
            raise MalformedTokenError("header_too_large")

        kid = self._header_kids.get(header_b64, _MISSING)
        new_header = kid is _MISSING
        if new_header:
            kid = self._kid_of(_json_object(header_b64, "header"))
        key = self._source.key_for(kid)  # type: ignore[arg-type]
        signature = _b64decode(signature_b64)
        if not self._check(header_b64 + b"." + payload_b64, key, signature):
            raise InvalidSignatureError("bad_signature")

        text = _text_of(payload_b64, "payload")
        claims = _parse_object(text, "payload")
        self._check_claims(claims)
        # Verified: tokens of one config share a few headers, and a client sends its token
        # again and again; remember both.
        if new_header:
            self._header_kids.remember(header_b64, kid)  # type: ignore[arg-type]
        if isinstance(token, str):
            self._verified.remember(token, (text, kid))  # type: ignore[arg-type]
        return claims

    def _kid_of(self, header: dict[str, Any]) -> str | None:
        """Check the header against the configuration; the ``kid`` it names, if any."""
        alg = header.get("alg")
        if alg != self._algorithm:
            raise InvalidHeaderError("alg_missing" if alg is None else "alg_not_allowed",
                                     expected=self._algorithm, seen=alg)
        if "crit" in header:
            raise InvalidHeaderError("crit")
        if "b64" in header and header["b64"] is not True:
            raise InvalidHeaderError("b64")
        typ = header.get("typ")
        if self._typ is not None:
            if not isinstance(typ, str) or _media_type(typ) != self._typ:
                raise InvalidHeaderError("typ")
        elif isinstance(typ, str) and _media_type(typ) == REFRESH_TYP:
            raise InvalidHeaderError("refresh_token_as_access_token")
        kid = header.get("kid")
        if kid is None and "kid" not in header:
            return None
        if not isinstance(kid, str):
            raise UnknownKeyError("unknown_kid")
        return kid

    def _check_claims(self, claims: dict[str, Any]) -> None:
        now = self._clock()
        leeway = self._leeway
        exp = _numeric_date(claims, "exp")
        if exp is None:
            raise InvalidClaimError("exp_missing")
        if now >= exp + leeway:
            raise ExpiredTokenError("expired")
        nbf = _numeric_date(claims, "nbf")
        if nbf is not None and now + leeway < nbf:
            raise ImmatureTokenError("nbf_future")
        iat = _numeric_date(claims, "iat")
        if iat is not None and iat > now + leeway:
            raise ImmatureTokenError("iat_future")
        if "sub" in claims and not isinstance(claims["sub"], str):
            raise InvalidClaimError("sub_not_string")
        issuer = self._issuer if self._discovered is None else self.expected_issuer
        if issuer is not None or self._discovered is not None:
            iss = claims.get("iss")
            if not isinstance(iss, str) or iss != issuer:
                raise InvalidClaimError("iss_missing" if iss is None else "iss_mismatch",
                                        expected=issuer, seen=iss)
        if self._audience:
            aud = claims.get("aud")
            if aud is None:
                raise InvalidClaimError("aud_missing")
            values = [aud] if isinstance(aud, str) else aud
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise InvalidClaimError("aud_not_string")
            if self._audience.isdisjoint(values):
                raise InvalidClaimError("aud_mismatch")
        elif "aud" in claims:
            raise InvalidClaimError("aud_unexpected")  # RFC 7519 §4.1.3


def peek_header(token: str) -> tuple[bytes, dict[str, Any]]:
    """The header segment and the header of a compact JWS, unverified, parsed as strictly as
    :meth:`Verifier.verify` parses it (for choosing the config; never for trusting)."""
    segment = token.partition(".")[0].encode("ascii", "replace")
    if not segment or len(segment) > MAX_HEADER_SEGMENT or not _SEGMENT.fullmatch(segment):
        raise MalformedTokenError("bad_header")
    return segment, _json_object(segment, "header")


def peek_claims(token: str) -> dict[str, Any]:
    """The payload of a compact JWS, unverified and strictly parsed (never for trusting)."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 65536:
        raise MalformedTokenError("segments")
    segment = parts[1].encode("ascii", "replace")
    if not _SEGMENT.fullmatch(segment):
        raise MalformedTokenError("bad_base64")
    return _json_object(segment, "payload")
