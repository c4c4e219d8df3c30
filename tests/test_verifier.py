"""The verifier as a plain object: its caches never change an answer."""

from __future__ import annotations

import pytest

from pyramid_jwtnode import ExpiredTokenError, Issuer, Verifier, load_keys, parse_config
from pyramid_jwtnode.exceptions import InvalidSignatureError

from .conftest import HS256_SECRET, NOW, Clock

CONFIG = parse_config("v", {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": 60})


def pair(clock: Clock) -> tuple[Issuer, Verifier]:
    keys = load_keys(CONFIG)
    return Issuer(CONFIG, keys, clock=clock), Verifier(CONFIG, keys, clock=clock)


def test_a_verified_token_gives_each_caller_claims_of_its_own(clock: Clock) -> None:
    issuer, verifier = pair(clock)
    token = issuer.issue({"sub": "a", "roles": ["x"]}).token
    first = verifier.verify(token)
    first["roles"].append("admin")
    second = verifier.verify(token)
    assert second["roles"] == ["x"] and second is not first


def test_time_is_checked_again_for_a_remembered_token(clock: Clock) -> None:
    issuer, verifier = pair(clock)
    token = issuer.issue({}).token
    verifier.verify(token)
    clock.now = NOW + 60
    with pytest.raises(ExpiredTokenError):
        verifier.verify(token)


def test_a_refused_token_is_never_remembered(clock: Clock) -> None:
    issuer, verifier = pair(clock)
    token = issuer.issue({}).token
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BA")
    for _ in range(2):
        with pytest.raises(InvalidSignatureError):
            verifier.verify(forged)
    assert forged not in verifier._verified


def test_caches_stay_bounded(clock: Clock) -> None:
    issuer, verifier = pair(clock)
    for _ in range(3000):
        verifier.verify(issuer.issue({}).token)
    assert len(verifier._verified) <= 1024
    assert len(verifier._header_kids) <= 64
