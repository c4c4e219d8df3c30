"""pjwt explain: the policy's own decision, explained; the same verdict and reason as the
policy for every kind of token, and never the signature."""

from __future__ import annotations

import io
import time
from pathlib import Path

import jwt
import pytest
from pyramid.config import Configurator

from pyramid_jwtnode import JWTSecurityPolicy, get_jwt_runtime
from pyramid_jwtnode.exceptions import InvalidTokenError
from pyramid_jwtnode.tools.cli import main
from pyramid_jwtnode.tools.explain import FIXES, explain

from .conftest import HS256_SECRET, NOW, Clock

STAFF = "s" * 48


def policy_and_tokens(clock: Clock) -> tuple[JWTSecurityPolicy, dict[str, str]]:
    with Configurator() as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("staff", algorithm="HS384", secret=STAFF, expires_in=300, kid="staff-1",
                              issuer="https://myapp.example", principals_claim="roles", clock=clock)
        config.add_jwt_config("api", algorithm="HS256", secret=HS256_SECRET, expires_in=300, audience="api",
                              revocation_store="memory", max_token_bytes=2048, clock=clock)
        policy = config.set_jwt_security_policy("staff", "api")
    config.commit()
    registry = config.registry
    staff = get_jwt_runtime(registry, "staff")
    api = get_jwt_runtime(registry, "api")
    assert staff.issuer is not None and api.issuer is not None and api.revocation is not None
    revoked = api.issuer.issue({"sub": "bob"}).token
    api.revocation.revoke(api.verifier.verify(revoked))
    now = int(NOW)
    api_claims = {"sub": "x", "aud": "api", "iat": now, "exp": now + 60, "jti": "j"}
    tokens = {
        "good staff": staff.issuer.issue({"sub": "alice", "roles": ["admin", "jwt-config:api"]}).token,
        "good api": api.issuer.issue({"sub": "carol"}).token,
        "expired": jwt.encode({**api_claims, "exp": now - 7200}, HS256_SECRET, algorithm="HS256"),
        "wrong iss": jwt.encode({"sub": "x", "iss": "https://other", "exp": now + 60}, STAFF,
                                algorithm="HS384", headers={"kid": "staff-1"}),
        "wrong aud": jwt.encode({**api_claims, "aud": "web"}, HS256_SECRET, algorithm="HS256"),
        "bad signature": jwt.encode(api_claims, "another-secret-of-thirty-two-bytes!", algorithm="HS256"),
        "unknown kid": jwt.encode(api_claims, STAFF, algorithm="HS384", headers={"kid": "nope"}),
        "no user": api.issuer.issue({"role": "x"}).token,
        "revoked": revoked,
        "too large": api.issuer.issue({"sub": "y"}).token + "A" * 3000,
        "not a token": "hello",
    }
    return policy, tokens


@pytest.mark.parametrize("which", ["good staff", "good api", "expired", "wrong iss", "wrong aud",
                                   "bad signature", "unknown kid", "no user", "revoked", "too large",
                                   "not a token"])
def test_the_explanation_gives_the_policys_own_verdict(which: str) -> None:
    policy, tokens = policy_and_tokens(Clock(NOW))
    token = tokens[which]
    explanation = explain(policy, token)
    try:
        name, _ = policy.check_token(token)
        verdict: tuple[bool, str | None] = (True, None)
    except InvalidTokenError as exc:
        verdict = (False, exc.reason)
    assert (explanation.accepted, explanation.reason) == verdict
    text = "\n".join(explanation.lines())
    if "." in token:
        assert token.rsplit(".", 1)[1][:20] not in text  # never the signature
    assert STAFF not in text and HS256_SECRET not in text
    if explanation.reason in FIXES:
        assert explanation.fix, explanation.reason


def test_a_refusal_says_what_to_do() -> None:
    policy, tokens = policy_and_tokens(Clock(NOW))
    expired = explain(policy, tokens["expired"])
    assert expired.reason == "expired" and "is 2 h past" in (expired.fix or "")
    wrong = explain(policy, tokens["wrong iss"])
    assert wrong.config == "staff" and "chosen by kid 'staff-1'" in wrong.chosen_by
    assert wrong.fix == "the token says iss 'https://other'; the config expects 'https://myapp.example'"
    good = explain(policy, tokens["good staff"])
    assert good.principals == ["system.Everyone", "system.Authenticated", "alice", "admin", "jwt-config:staff"]
    assert [s.name for s in good.steps] == ["size", "header", "algorithm", "typ, crit, b64", "key", "signature",
                                            "exp, nbf, iat, iss, aud", "user id"]
    assert all(s.ok for s in good.steps)
    revoked = explain(policy, tokens["revoked"])
    assert [s for s in revoked.steps if s.name == "revocation"][0].ok is False
    # the claims step names both issuers where there is one to name, and none where neither is
    claims_step = [s for s in wrong.steps if s.name == "exp, nbf, iat, iss, aud"][0]
    assert "iss 'https://other' (expected 'https://myapp.example')" in claims_step.detail
    expired_step = [s for s in expired.steps if s.name == "exp, nbf, iat, iss, aud"][0]
    assert "iss" not in expired_step.detail.partition(":")[2]


@pytest.mark.slow
def test_pjwt_explain_on_the_example_app(tmp_path: Path) -> None:
    ini = str(Path(__file__).resolve().parent.parent / "example_app" / "development.ini")
    out = io.StringIO()
    assert main(["mint", ini, "--config", "igniteadmin", "--claim", "name=ada"], stdout=out,
                stderr=io.StringIO()) == 0
    token = out.getvalue().strip()
    out = io.StringIO()
    assert main(["explain", ini, token], stdout=out, stderr=io.StringIO()) == 0
    assert "accepted; principals:" in out.getvalue() and "[pass] signature" in out.getvalue()
    forged = jwt.encode({"data": {"name": "x"}, "exp": int(time.time()) + 60}, "x" * 32, algorithm="HS256")
    out = io.StringIO()
    assert main(["explain", ini, forged], stdout=out, stderr=io.StringIO()) == 1
    assert "refused (bad_signature)" in out.getvalue() and forged.rsplit(".", 1)[1] not in out.getvalue()
    err = io.StringIO()
    assert main(["explain", ini, "--config", "nope", token], stdout=io.StringIO(), stderr=err) == 2
    assert "not one of the policy's" in err.getvalue()


def test_pjwt_explain_needs_a_security_policy(tmp_path: Path) -> None:
    ini = tmp_path / "app.ini"
    ini.write_text("[app:main]\nuse = call:example_app:main\njwt.configs = a\njwt.a.algorithm = HS256\n"
                   f"jwt.a.secret = {HS256_SECRET}\njwt.a.expires_in = 60\n")
    err = io.StringIO()
    assert main(["explain", str(ini), "a.b.c"], stdout=io.StringIO(), stderr=err) == 2
    assert "jwt.security_policy" in err.getvalue()


