"""docs/security.rst, the verifier: every case through HTTP, each asserting the status, the
``WWW-Authenticate`` challenge and a body that leaks nothing.

Choices this suite pins (and the README states): duplicate JSON member names are
refused, not "last one wins"; base64url padding ``=`` is refused (RFC 7515 §2);
``b64`` is refused unless exactly ``true``; a token without ``kid`` is checked
with the current key only.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jwt.algorithms import RSAAlgorithm
from webtest import TestApp

from ..conftest import HS256_SECRET, NOW, Clock, KeyPair
from .conftest import (
    HS_API,
    HS_HEADER,
    OTHER_SECRET,
    assert_answer,
    b64,
    bearer,
    claims,
    forge,
    protected_app,
    segment,
)

VALID = forge(HS_HEADER, claims())

# A 32-byte HMAC is 43 base64url characters; the last one carries 4 bits and 2 zero bits.
# Setting one of those zero bits decodes to the same bytes: a second spelling of one signature.
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_NON_CANONICAL = {c: _ALPHABET[_ALPHABET.index(c) | 1] for c in _ALPHABET[::4]}


# -- what the request carries -------------------------------------------------------


def test_valid_token_is_let_through(hs_app: TestApp) -> None:
    assert bearer(hs_app, VALID, status=200).json == {"sub": "alice"}


def test_no_authorization_header_gets_a_bare_challenge(hs_app: TestApp) -> None:
    assert_answer(hs_app.get("/protected", status=401), "missing")


def test_another_scheme_is_treated_as_no_token(hs_app: TestApp) -> None:
    res = hs_app.get("/protected", headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"}, status=401)
    assert_answer(res, "missing", "YWxpY2U6c2VjcmV0")


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr", "Bearer"])
def test_bearer_scheme_in_any_case(hs_app: TestApp, scheme: str) -> None:
    hs_app.get("/protected", headers={"Authorization": f"{scheme} {VALID}"}, status=200)


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer    ", "bearer\t"])
def test_empty_token_is_invalid_request(hs_app: TestApp, header: str) -> None:
    res = hs_app.get("/protected", extra_environ={"HTTP_AUTHORIZATION": header}, status=400)
    assert_answer(res, "invalid_request")


@pytest.mark.parametrize(
    "header",
    [f"Bearer {VALID}, Bearer {VALID}", f"Bearer {VALID},Bearer x", f"Bearer {VALID} {VALID}"],
    ids=["two-headers-joined", "two-headers-no-space", "two-tokens"],
)
def test_two_authorization_headers_are_invalid_request(hs_app: TestApp, header: str) -> None:
    res = hs_app.get("/protected", extra_environ={"HTTP_AUTHORIZATION": header}, status=400)
    assert_answer(res, "invalid_request", VALID)


def test_query_string_token_is_not_read_by_default(hs_app: TestApp) -> None:
    assert_answer(hs_app.get(f"/protected?access_token={VALID}", status=401), "missing", VALID)


def test_query_string_token_when_a_config_opts_in(clock: Clock) -> None:
    app = protected_app({}, "api", clock, api={**HS_API, "query_token": "true"})
    app.get(f"/protected?access_token={VALID}", status=200)
    res = app.get(f"/protected?access_token={VALID}", headers={"Authorization": f"Bearer {VALID}"},
                  status=400)
    assert_answer(res, "invalid_request", VALID)
    assert_answer(app.get(f"/protected?access_token={VALID}&access_token=x", status=400),
                  "invalid_request", VALID)
    assert_answer(app.get("/protected?access_token=", status=400), "invalid_request")


# -- the shape of the token -----------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "abc", "a.b", "a.b.c.d", "...", VALID + ".", "." + VALID,
        VALID.replace(".", "..", 1),
    ],
    ids=["one", "two", "four", "dots", "trailing-dot", "leading-dot", "empty-segment"],
)
def test_wrong_number_of_segments(hs_app: TestApp, token: str) -> None:
    assert_answer(bearer(hs_app, token, status=401), "invalid_token", token)


@pytest.mark.parametrize(
    "token",
    [
        VALID.replace(".", "!.", 1),
        "%%%.%%%.%%%",
        segment(HS_HEADER) + "==." + VALID.split(".", 1)[1],
        VALID + "=",
        "A.B.C",  # lengths that cannot be base64
        VALID[:-1] + "/",
        VALID[:-1] + _NON_CANONICAL[VALID[-1]],
    ],
    ids=["bang", "percent", "padding-in-header", "padding-in-signature", "bad-length", "slash",
         "non-canonical-trailing-bits"],
)
def test_bad_base64url(hs_app: TestApp, token: str) -> None:
    assert_answer(bearer(hs_app, token, status=401), "invalid_token", token)


def test_non_ascii_token(hs_app: TestApp) -> None:
    token = VALID[:10] + "é" + VALID[11:]
    res = hs_app.get("/protected", extra_environ={"HTTP_AUTHORIZATION": f"Bearer {token}"},
                     status=401)
    assert_answer(res, "invalid_token")


@pytest.mark.parametrize("header", ["[]", "1", '"HS256"', "null", "{bad json", '{"alg":"HS256"'])
def test_header_that_is_not_a_json_object(hs_app: TestApp, header: str) -> None:
    token = forge(header, claims())
    assert_answer(bearer(hs_app, token, status=401), "invalid_token", token)


@pytest.mark.parametrize("payload", ["[]", "1", '"alice"', "null", "{bad json"])
def test_payload_that_is_not_a_json_object(hs_app: TestApp, payload: str) -> None:
    token = forge(HS_HEADER, payload)
    assert_answer(bearer(hs_app, token, status=401), "invalid_token", token)


def test_deeply_nested_payload(hs_app: TestApp) -> None:
    depth = 2500
    payload = '{"sub":"alice","exp":%d,"x":%s1%s}' % (NOW + 600, "[" * depth, "]" * depth)
    token = forge(HS_HEADER, payload)
    assert_answer(bearer(hs_app, token, status=401), "invalid_token")


def test_deeply_nested_header(hs_app: TestApp) -> None:
    token = forge('{"alg":"HS256","x":%s1%s}' % ("[" * 700, "]" * 700), claims())
    assert_answer(bearer(hs_app, token, status=401), "invalid_token")


def test_oversized_token_is_refused_before_decoding(hs_app: TestApp) -> None:
    token = forge(HS_HEADER, claims(pad="x" * 9000))
    assert_answer(bearer(hs_app, token, status=401), "invalid_token")


def test_oversized_header_is_refused(hs_app: TestApp) -> None:
    token = forge({**HS_HEADER, "x": "y" * 3000}, claims())
    assert_answer(bearer(hs_app, token, status=401), "invalid_token")


@pytest.mark.parametrize(
    ("header", "payload"),
    [
        ('{"alg":"none","alg":"HS256"}', None),
        ('{"alg":"HS256","kid":"a","kid":"b"}', None),
        (None, '{"sub":"alice","sub":"admin","exp":%d}' % (NOW + 600)),
        (None, '{"sub":"alice","exp":1,"exp":%d}' % (NOW + 600)),
    ],
    ids=["header-alg", "header-kid", "payload-sub", "payload-exp"],
)
def test_duplicate_json_member_names_are_refused(hs_app: TestApp, header: Any, payload: Any) -> None:
    token = forge(header or HS_HEADER, payload or claims())
    assert_answer(bearer(hs_app, token, status=401), "invalid_token")


# -- alg --------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none(hs_app: TestApp, alg: str) -> None:
    token = f"{segment({'alg': alg, 'typ': 'JWT'})}.{segment(claims())}."
    assert_answer(bearer(hs_app, token, status=401), "invalid_token")
    token = f"{segment({'alg': alg, 'typ': 'JWT'})}.{segment(claims())}.{b64(b'sig')}"
    assert_answer(bearer(hs_app, token, status=401), "invalid_token")


@pytest.mark.parametrize("header", [{"typ": "JWT"}, {"alg": None}, {"alg": ""}, {"alg": ["HS256"]}])
def test_alg_missing_or_not_a_string(hs_app: TestApp, header: dict[str, Any]) -> None:
    token = forge(header, claims(), alg="HS256")
    assert_answer(bearer(hs_app, token, status=401), "invalid_token")


@pytest.mark.parametrize("alg", ["HS384", "HS512", "hs256"])
def test_alg_not_the_configs(hs_app: TestApp, alg: str) -> None:
    token = forge({"alg": alg}, claims(), key=HS256_SECRET * 2, alg=alg.upper())
    assert_answer(bearer(hs_app, token, status=401), "invalid_token")


@pytest.mark.parametrize("form", ["pem", "pem-crlf", "jwk"])
def test_hs_token_macd_with_the_public_key(rs_app: TestApp, keys: dict[str, KeyPair], form: str) -> None:
    pem = keys["rsa"].public.read_bytes()
    public = {
        "pem": pem,
        "pem-crlf": pem.replace(b"\n", b"\r\n"),
        "jwk": RSAAlgorithm.to_jwk(keys["rsa"].private_key.public_key()).encode(),
    }[form]
    # PyJWT refuses to HMAC with a PEM, so compute the MAC by hand as an attacker would.
    import hashlib
    import hmac as hmac_module

    for header in ({"alg": "HS256", "typ": "JWT"}, {"alg": "HS256", "kid": "rs-1"}):
        signing_input = f"{segment(header)}.{segment(claims())}"
        mac = hmac_module.new(public, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{b64(mac)}"
        assert_answer(bearer(rs_app, token, status=401), "invalid_token")


# -- the signature ---------------------------------------------------------------------


def test_empty_signature(hs_app: TestApp) -> None:
    token = VALID.rsplit(".", 1)[0] + "."
    assert_answer(bearer(hs_app, token, status=401), "invalid_token")


@pytest.mark.parametrize("part", [0, 1, 2])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_one_flipped_bit_anywhere(hs_app: TestApp, part: int, where: str) -> None:
    import base64

    segments = VALID.split(".")
    raw = bytearray(base64.urlsafe_b64decode(segments[part] + "=" * (-len(segments[part]) % 4)))
    index = {"first": 0, "middle": len(raw) // 2, "last": len(raw) - 1}[where]
    for bit in (0, 3, 7):
        flipped = bytearray(raw)
        flipped[index] ^= 1 << bit
        tampered = list(segments)
        tampered[part] = b64(bytes(flipped))
        token = ".".join(tampered)
        assert_answer(bearer(hs_app, token, status=401), "invalid_token")


def test_valid_signature_by_another_key(hs_app: TestApp) -> None:
    token = forge(HS_HEADER, claims(), key=OTHER_SECRET)
    assert_answer(bearer(hs_app, token, status=401), "invalid_token")


def test_another_rsa_key(rs_app: TestApp, keys: dict[str, KeyPair]) -> None:
    token = forge({"alg": "RS256", "kid": "rs-1"}, claims(), key=keys["rsa2"].private_key)
    assert_answer(bearer(rs_app, token, status=401), "invalid_token")


def test_rsa_token_with_the_right_key_passes(rs_app: TestApp, keys: dict[str, KeyPair]) -> None:
    token = forge({"alg": "RS256", "kid": "rs-1"}, claims(), key=keys["rsa"].private_key)
    bearer(rs_app, token, status=200)


@pytest.mark.parametrize("signature", [bytes(64), bytes(32) + bytes(32), b"\x00", bytes(72)],
                         ids=["r=s=0", "zeros-split", "one-byte", "der-length"])
def test_ecdsa_zero_signature_cve_2022_21449(es_app: TestApp, signature: bytes) -> None:
    token = f"{segment({'alg': 'ES256'})}.{segment(claims())}.{b64(signature)}"
    assert_answer(bearer(es_app, token, status=401), "invalid_token")


def test_ecdsa_valid_signature_passes(es_app: TestApp, keys: dict[str, KeyPair]) -> None:
    bearer(es_app, forge({"alg": "ES256"}, claims(), key=keys["p256"].private_key), status=200)


# -- kid and key sources -----------------------------------------------------------------


@pytest.mark.parametrize(
    "kid",
    ["unknown", "../../../../etc/passwd", "/dev/null", "rs-1/../rs-1", "RS-1", "rs-1 ", "x" * 1500,
     123, None, ["rs-1"], {"kid": "rs-1"}, True],
    ids=["unknown", "path", "dev-null", "dotdot", "case", "space", "huge", "int", "null", "list",
         "object", "bool"],
)
def test_kid_is_only_an_exact_lookup(rs_app: TestApp, keys: dict[str, KeyPair], kid: Any) -> None:
    token = forge({"alg": "RS256", "kid": kid}, claims(), key=keys["rsa"].private_key)
    assert_answer(bearer(rs_app, token, status=401), "invalid_token")


@pytest.mark.parametrize("source", ["jwk", "jku", "x5u", "x5c"])
def test_header_key_sources_are_never_used(rs_app: TestApp, keys: dict[str, KeyPair], source: str) -> None:
    attacker = keys["rsa2"]
    value: Any = {
        "jwk": json.loads(RSAAlgorithm.to_jwk(attacker.private_key.public_key())),
        "jku": "http://127.0.0.1:1/jwks.json",
        "x5u": "http://127.0.0.1:1/cert.pem",
        "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
    }[source]
    token = forge({"alg": "RS256", source: value}, claims(), key=attacker.private_key)
    assert_answer(bearer(rs_app, token, status=401), "invalid_token")
    # The same header on a token signed with the configured key: the field is ignored.
    honest = forge({"alg": "RS256", source: value}, claims(), key=keys["rsa"].private_key)
    bearer(rs_app, honest, status=200)


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "HS256", "crit": ["exp"], "exp": 1},
        {"alg": "HS256", "crit": []},
        {"alg": "HS256", "crit": ["b64"], "b64": False},
        {"alg": "HS256", "b64": False},
        {"alg": "HS256", "b64": "false"},
    ],
    ids=["crit-exp", "crit-empty", "b64-false-crit", "b64-false", "b64-string"],
)
def test_crit_and_b64_are_refused(hs_app: TestApp, header: dict[str, Any]) -> None:
    assert_answer(bearer(hs_app, forge(header, claims()), status=401), "invalid_token")


# -- typ and configs ----------------------------------------------------------------------

STRICT = {**HS_API, "typ": "at+jwt", "issuer": "https://issuer.example", "audience": "api",
          "leeway": 30}


@pytest.fixture
def strict_app(clock: Clock) -> TestApp:
    return protected_app({}, "api", clock, api=STRICT)


def strict_claims(**extra: Any) -> dict[str, Any]:
    return claims(**{"iss": "https://issuer.example", "aud": "api", **extra})


def strict_token(header: dict[str, Any] | None = None, **extra: Any) -> str:
    return forge(header or {"alg": "HS256", "typ": "at+jwt"}, strict_claims(**extra))


def test_strict_config_accepts_its_own_tokens(strict_app: TestApp) -> None:
    bearer(strict_app, strict_token(), status=200)
    bearer(strict_app, strict_token({"alg": "HS256", "typ": "application/AT+JWT"}), status=200)


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "at+jwt2", 5],
                         ids=["missing", "JWT", "jwt", "other", "int"])
def test_wrong_typ_when_one_is_required(strict_app: TestApp, typ: Any) -> None:
    header = {"alg": "HS256"} if typ is None else {"alg": "HS256", "typ": typ}
    assert_answer(bearer(strict_app, strict_token(header), status=401), "invalid_token")


def test_token_of_config_b_at_a_route_of_config_a(hs_app: TestApp) -> None:
    other = forge(HS_HEADER, claims(), key=OTHER_SECRET)
    assert_answer(bearer(hs_app, other, status=401), "invalid_token")


# -- time ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"exp": NOW - 29}, 200),
        ({"exp": NOW - 30}, 401),
        ({"exp": NOW - 3600}, 401),
        ({"nbf": NOW + 30}, 200),
        ({"nbf": NOW + 31}, 401),
        ({"iat": NOW + 30}, 200),
        ({"iat": NOW + 31}, 401),
        ({"exp": NOW + 0.5}, 200),
    ],
    ids=["exp-in-leeway", "exp-at-leeway", "exp-past", "nbf-in-leeway", "nbf-past-leeway",
         "iat-in-leeway", "iat-past-leeway", "float-exp"],
)
def test_time_claims_with_leeway(strict_app: TestApp, extra: dict[str, Any], status: int) -> None:
    res = bearer(strict_app, strict_token(**extra), status=status)
    if status == 401:
        assert_answer(res, "invalid_token")


def test_expiry_follows_the_clock(clock: Clock) -> None:
    app = protected_app({}, "api", clock, api=HS_API)
    bearer(app, VALID, status=200)
    clock.now = NOW + 600
    assert_answer(bearer(app, VALID, status=401), "invalid_token")


@pytest.mark.parametrize(
    "exp",
    ["9999999999", str(NOW + 600), True, False, 10**100, 253402300800, -1, [NOW + 600],
     {"t": NOW + 600}, None],
    ids=["numeric-string", "string-now", "true", "false", "huge", "past-9999", "negative",
         "list", "object", "null"],
)
def test_exp_must_be_a_numeric_date(hs_app: TestApp, exp: Any) -> None:
    assert_answer(bearer(hs_app, forge(HS_HEADER, claims(exp=exp)), status=401), "invalid_token")


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_exp_not_finite(hs_app: TestApp, raw: str) -> None:
    token = forge(HS_HEADER, '{"sub":"alice","exp":%s}' % raw)
    assert_answer(bearer(hs_app, token, status=401), "invalid_token")


@pytest.mark.parametrize("claim", ["nbf", "iat"])
@pytest.mark.parametrize("value", ["0", True, 10**100, None])
def test_nbf_and_iat_must_be_numeric_dates(hs_app: TestApp, claim: str, value: Any) -> None:
    assert_answer(bearer(hs_app, forge(HS_HEADER, claims(**{claim: value})), status=401),
                  "invalid_token")


# -- required claims, iss, aud ------------------------------------------------------------


@pytest.mark.parametrize("missing", ["exp", "iss", "aud"])
def test_required_claim_missing(strict_app: TestApp, missing: str) -> None:
    body = strict_claims()
    del body[missing]
    token = forge({"alg": "HS256", "typ": "at+jwt"}, body)
    assert_answer(bearer(strict_app, token, status=401), "invalid_token")


@pytest.mark.parametrize("null", ["exp", "iss", "aud"])
def test_required_claim_null(strict_app: TestApp, null: str) -> None:
    token = forge({"alg": "HS256", "typ": "at+jwt"}, strict_claims(**{null: None}))
    assert_answer(bearer(strict_app, token, status=401), "invalid_token")


@pytest.mark.parametrize(
    "iss",
    ["https://issuer.example.evil", "https://issuer", "https://issuer.exampl",
     "HTTPS://ISSUER.EXAMPLE", ["https://issuer.example"], " https://issuer.example", 1],
    ids=["suffix", "prefix", "substring", "case", "list", "space", "int"],
)
def test_iss_must_match_exactly(strict_app: TestApp, iss: Any) -> None:
    assert_answer(bearer(strict_app, strict_token(iss=iss), status=401), "invalid_token")


@pytest.mark.parametrize("aud", ["other", ["other"], [], "API", ["api", 1], 5, {"aud": "api"}])
def test_aud_mismatched(strict_app: TestApp, aud: Any) -> None:
    assert_answer(bearer(strict_app, strict_token(aud=aud), status=401), "invalid_token")


def test_aud_list_containing_ours_passes(strict_app: TestApp) -> None:
    bearer(strict_app, strict_token(aud=["other", "api"]), status=200)


def test_aud_present_when_none_is_configured(hs_app: TestApp) -> None:
    assert_answer(bearer(hs_app, forge(HS_HEADER, claims(aud="api")), status=401), "invalid_token")


def test_sub_must_be_a_string(hs_app: TestApp) -> None:
    assert_answer(bearer(hs_app, forge(HS_HEADER, claims(sub=42)), status=401), "invalid_token")


# -- permission ---------------------------------------------------------------------------


def test_valid_token_missing_the_permission_is_403(hs_app: TestApp) -> None:
    assert_answer(bearer(hs_app, VALID, path="/admin", status=403), "insufficient_scope", VALID)


def test_valid_token_with_the_permission(hs_app: TestApp) -> None:
    bearer(hs_app, forge(HS_HEADER, claims(roles=["admin"])), path="/admin", status=200)


def test_no_token_at_a_permissioned_view_is_401_not_403(hs_app: TestApp) -> None:
    assert_answer(hs_app.get("/admin", status=401), "missing")
