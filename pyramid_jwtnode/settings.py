"""Every setting of a jwt-config, and the pure parser that checks them.

:data:`SETTINGS` is the table of record: the parser reads nothing that is not
in it, and the settings reference in the README is checked against it by the
test suite. Ini settings (``jwt.<name>.<key>``, all strings) and keyword
arguments of ``config.add_jwt_config(name, **settings)`` (strings or native
values) go through the same :func:`parse_config`.

Nothing here touches the file system, the environment or Pyramid's
Configurator: key files and ``secret_env`` are read by :mod:`pyramid_jwtnode.keys`.
Every error is a :class:`~pyramid.exceptions.ConfigurationError` that names the
setting and says how to fix it, and never repeats a value.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from pyramid.exceptions import ConfigurationError
from pyramid.path import DottedNameResolver
from pyramid.settings import asbool, aslist

from .algorithms import ALGORITHMS, HMAC_MIN_BYTES, is_hmac

__all__ = [
    "PREFIX",
    "CONFIGS_KEY",
    "SETTINGS",
    "Setting",
    "JWTConfig",
    "PreviousKey",
    "parse_config",
    "configs_from_settings",
    "security_policy_from_settings",
    "SECURITY_POLICY_KEY",
    "check_hmac_secret",
    "setting_error",
    "reference_markdown",
]

PREFIX: Final = "jwt."
CONFIGS_KEY: Final = "jwt.configs"
SECURITY_POLICY_KEY: Final = "jwt.security_policy"
_GLOBAL_KEYS: Final = frozenset({CONFIGS_KEY, SECURITY_POLICY_KEY})

#: Claims the issuer sets from configuration; a payload may not carry them.
REGISTERED_CLAIMS: Final = frozenset({"iat", "exp", "nbf", "iss", "aud", "jti"})

_NAME_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_KID_RE: Final = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no spaces
_TYP_RE: Final = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+(/[A-Za-z0-9!#$&^_.+-]+)?$")
_HTTP_METHODS: Final = ("GET", "POST")
_MAX_LEEWAY: Final = 300


class _Invalid(Exception):
    """Raised by a converter; the parser adds the setting's name."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


def setting_error(name: str, key: str, problem: str, fix: str) -> ConfigurationError:
    """The one shape of every settings error: config, key, problem, fix."""
    return ConfigurationError(f"{PREFIX}{name}.{key} {problem}. Fix: {fix}.")


# -- converters: each takes an ini string or a native value ------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Invalid("must be text", "give a string")
    value = value.strip()
    return value or None


def _positive_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Invalid("must be a whole number of seconds", "give e.g. 3600")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        number = int(value)
    else:
        raise _Invalid("must be a whole number of seconds", "give e.g. 3600")
    if number <= 0:
        raise _Invalid("must be greater than zero", "give a positive number of seconds")
    return number


def _non_negative_int(value: Any) -> int:
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        if isinstance(value, int) or re.fullmatch(r"\s*\d+\s*", value):
            return int(value)
    raise _Invalid("must be a whole number of seconds, zero or more", "give e.g. 0 or 30")


def _leeway(value: Any) -> int:
    number = _non_negative_int(value)
    if number > _MAX_LEEWAY:
        raise _Invalid(
            f"is above the {_MAX_LEEWAY} s limit",
            "a leeway absorbs clock skew only; keep it between 0 and 300 seconds",
        )
    return number


def _token_bytes(value: Any) -> int:
    number = _positive_int(value)
    if not 256 <= number <= 65536:
        raise _Invalid("must lie between 256 and 65536 bytes", "the default, 8192, suits most tokens")
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {
        "true", "false", "yes", "no", "on", "off", "1", "0", "y", "n", "t", "f",
    }:
        return bool(asbool(value))
    raise _Invalid("must be true or false", "give true or false")


def _words(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(aslist(value))
    if isinstance(value, Iterable) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    raise _Invalid("must be one or more words", "give names separated by spaces or new lines")


def _algorithm(value: Any) -> str:
    text = _text(value)
    if text is None:
        raise _Invalid("is required", f"set one of {', '.join(ALGORITHMS)}")
    if text.lower() == "none":
        raise _Invalid(
            "may not be 'none': unsigned tokens are never accepted",
            f"set one of {', '.join(ALGORITHMS)}",
        )
    if text not in ALGORITHMS:
        close = [a for a in ALGORITHMS if a.lower() == text.lower()]
        hint = f"algorithm names are case-sensitive: write {close[0]}" if close else (
            f"set one of {', '.join(ALGORITHMS)}"
        )
        raise _Invalid("is not a supported algorithm", hint)
    return text


def _kid(value: Any) -> str | None:
    text = _text(value)
    if text is not None and not _KID_RE.fullmatch(text):
        raise _Invalid(
            "must be 1 to 128 printable ASCII characters without spaces",
            "use a short id such as 2026-11 or key-1",
        )
    return text


def _typ(value: Any) -> str | None:
    text = _text(value)
    if text is not None and not _TYP_RE.fullmatch(text):
        raise _Invalid("must be a media type such as JWT or at+jwt", "give e.g. at+jwt")
    return text


def _claim_name(value: Any) -> str | None:
    text = _text(value)
    if text is not None:
        if text in REGISTERED_CLAIMS or text in {"sub"}:
            raise _Invalid(
                "may not be a registered claim name", "use a private name such as data"
            )
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.:-]{0,63}", text):
            raise _Invalid("must be a plain claim name", "use a name such as data")
    return text


def _route_pattern(value: Any) -> str | None:
    text = _text(value)
    if text is not None and (not text.startswith("/") or any(c.isspace() for c in text)):
        raise _Invalid("must be a URL path starting with /", "give e.g. /jwt/generate")
    return text


def _claim_path(value: Any) -> str | None:
    text = _text(value)
    if text is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_:-]*(\.[A-Za-z_][A-Za-z0-9_:-]*)*", text):
        raise _Invalid(
            "must be a claim name, or a dotted path into nested claims",
            "give e.g. sub, roles or data.email",
        )
    return text


_REALM_RE: Final = re.compile(r'[\x20-\x21\x23-\x5b\x5d-\x7e]{1,128}')  # printable ASCII but '"' and backslash


def _realm(value: Any) -> str | None:
    text = _text(value)
    if text is not None and not _REALM_RE.fullmatch(text):
        raise _Invalid("must be printable ASCII without quotes or backslashes", "give e.g. api")
    return text


def _store_url(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    if text == "memory" or re.fullmatch(r"(rediss?|unix)://\S+", text):
        return text
    raise _Invalid(
        "must be 'memory' or a Redis URL",
        "give memory (one process: development and tests) or redis://host:6379/0",
    )


def _method(value: Any) -> str:
    text = (_text(value) or "").upper()
    if text not in _HTTP_METHODS:
        raise _Invalid("must be GET or POST", "POST suits a token endpoint (RFC 6749 §3.2)")
    return text


_resolver: Final = DottedNameResolver(None)


def _callable(value: Any) -> Callable[..., Any] | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = _resolver.resolve(value.strip())
        except (ImportError, AttributeError, ValueError) as exc:
            raise _Invalid(
                f"names something that cannot be imported ({type(exc).__name__})",
                "give an absolute dotted name such as myapp.auth:payload",
            ) from None
    if not callable(value):
        raise _Invalid("does not name a callable", "point it at a function taking the request")
    return value  # type: ignore[no-any-return]


def _path(value: Any) -> str | None:
    text = _text(value)
    if text is not None and "\n" in text:
        raise _Invalid("must be a single file path", "give one path, e.g. %(here)s/keys/p.pem")
    return text


def _previous_keys(value: Any) -> tuple[PreviousKey, ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        pairs = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, str):
        pairs = []
        for line in value.splitlines():
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2:
                raise _Invalid(
                    "must list one 'KID FILE' pair per line",
                    "write e.g. '2026-10 %(here)s/keys/old.pub' on its own line",
                )
            pairs.append((parts[0], parts[1]))
    else:
        raise _Invalid("must list 'KID FILE' pairs", "one pair per line, or a dict in code")
    keys = []
    for kid, path in pairs:
        checked_kid = _kid(kid)
        checked_path = _path(path)
        if checked_kid is None or checked_path is None:
            raise _Invalid("has an empty key id or path", "write 'KID FILE' on each line")
        keys.append(PreviousKey(kid=checked_kid, path=checked_path))
    kids = [k.kid for k in keys]
    if len(set(kids)) != len(kids):
        raise _Invalid("names the same key id twice", "give each previous key its own id")
    return tuple(keys)


# -- the table -----------------------------------------------------------------

_REQUIRED: Final = object()


@dataclasses.dataclass(frozen=True)
class Setting:
    """One row of the settings table."""

    key: str
    type: str
    default: Any
    doc: str
    convert: Callable[[Any], Any] = dataclasses.field(repr=False, compare=False)

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


SETTINGS: Final[tuple[Setting, ...]] = (
    Setting("algorithm", "choice", _REQUIRED,
            "Signing algorithm: HS256/384/512, RS256/384/512, PS256/384/512, "
            "ES256/384/512 or EdDSA. Tokens are only ever verified with this one.",
            _algorithm),
    Setting("expires_in", "int", _REQUIRED,
            "Token lifetime in seconds; `exp = iat + expires_in`.", _positive_int),
    Setting("secret", "text", None,
            "HS*: the shared secret, at least 32/48/64 bytes for HS256/384/512. "
            "Prefer `secret_file` or `secret_env` outside development.", _text),
    Setting("secret_file", "path", None,
            "HS*: a file holding the secret (surrounding white space is stripped).", _path),
    Setting("secret_env", "text", None,
            "HS*: the name of an environment variable holding the secret. When that variable "
            "is set it wins; `secret`/`secret_file` beside it are the fallback when it is not.",
            _text),
    Setting("private_key_file", "path", None,
            "RS/PS/ES/EdDSA: PEM private key used to sign. Absent: the config only verifies.",
            _path),
    Setting("private_key_passphrase", "text", None,
            "Passphrase of an encrypted `private_key_file`.", _text),
    Setting("public_key_file", "path", None,
            "RS/PS/ES/EdDSA: PEM public key; derived from the private key when absent, "
            "and checked against it when both are given.", _path),
    Setting("kid", "text", None,
            "Key id put in the token header. Asymmetric keys default to their RFC 7638 "
            "thumbprint; HS keys have none unless set.", _kid),
    Setting("previous_keys", "lines", (),
            "Key rotation: retired verification keys, one `KID FILE` pair per line (a PEM "
            "public key for asymmetric configs, a secret file for HS). Tokens naming that "
            "kid still verify; new tokens are signed with the current key.", _previous_keys),
    Setting("issuer", "text", None,
            "`iss` claim set on issue and required on verification.", _text),
    Setting("audience", "words", (),
            "`aud` claim(s): set on issue (one value: a string; several: a list) and one of "
            "them required on verification.", _words),
    Setting("not_before", "int", None,
            "When set, `nbf = iat + not_before` (seconds, 0 or more).", _non_negative_int),
    Setting("leeway", "int", 0,
            "Clock skew allowed when checking `exp`, `nbf` and `iat`, 0 to 300 seconds.",
            _leeway),
    Setting("jti", "bool", True,
            "Put a random, unique `jti` claim in every token.", _bool),
    Setting("typ", "text", None,
            "Header `typ`. When set (e.g. `at+jwt`), verification requires it; when not, "
            "tokens carry `JWT` and any `typ` is accepted.", _typ),
    Setting("claims_key", "text", None,
            "Nest the payload under this claim (`data` gives the recipe's layout "
            "`{\"data\": ..., \"iat\": ..., \"exp\": ...}`); any JSON value is then allowed.",
            _claim_name),
    Setting("max_token_bytes", "int", 8192,
            "Tokens longer than this are refused before any decoding (256 to 65536).",
            _token_bytes),
    Setting("token_route", "path", None,
            "URL pattern of a token view for this config (needs `payload`).", _route_pattern),
    Setting("token_route_method", "choice", "POST",
            "HTTP method of the token view: POST (RFC 6749) or GET (the recipe).", _method),
    Setting("payload", "callable", None,
            "Dotted name of `payload(request)` returning the claims to sign; it may raise an "
            "HTTPException (e.g. 401) that is passed through.", _callable),
    Setting("response", "callable", None,
            "Dotted name of `response(request, issued)` returning the JSON body of the token "
            "view, to shape it differently from the RFC 6749 default.", _callable),
    Setting("jwks_route", "path", None,
            "URL pattern serving this config's public keys (current and previous) as an RFC "
            "7517 JWK Set, e.g. `/.well-known/jwks.json`. Asymmetric configs only.",
            _route_pattern),
    Setting("verify_route", "path", None,
            "URL pattern of the recipe's *validate* mode: answers a valid bearer token with "
            "its claims as JSON and anything else with the RFC 6750 challenge.", _route_pattern),
    Setting("realm", "text", None,
            "`realm` of the `WWW-Authenticate: Bearer` challenge; defaults to the config name.",
            _realm),
    Setting("userid_claim", "text", "sub",
            "Claim holding the user id (`authenticated_userid`); a dotted path such as "
            "`data.email` reaches into nested claims.", _claim_path),
    Setting("principals_claim", "text", None,
            "Claim holding the principals for ACLs: a list of strings (`roles`) or a "
            "space-separated string (`scope`); a dotted path reaches into nested claims.",
            _claim_path),
    Setting("identity", "callable", None,
            "Dotted name of `identity(request, claims)` returning the identity (e.g. a user "
            "object) or `None` to refuse; by default the identity is the verified claims.",
            _callable),
    Setting("revocation_store", "text", None,
            "Where revoked and used token ids live: `memory` (one process) or a Redis URL "
            "(`redis://host:6379/0`, shared by every process and host). When set, verification "
            "refuses revoked tokens; when the store cannot be reached, requests that need it get "
            "503 (fail closed).", _store_url),
    Setting("revocation_route", "path", None,
            "URL pattern of an RFC 7009 revocation endpoint (POST `token=...`, always 200). "
            "Needs `revocation_store`.", _route_pattern),
    Setting("refresh_expires_in", "int", None,
            "Lifetime of refresh tokens in seconds; when set, the token view also returns a "
            "`refresh_token`, rotated on every use with reuse detection. Needs "
            "`revocation_store`.", _positive_int),
    Setting("refresh_route", "path", None,
            "URL pattern of the refresh endpoint (POST `grant_type=refresh_token&refresh_token=...`, "
            "RFC 6749 §6). Needs `refresh_expires_in`.", _route_pattern),
    Setting("query_token", "bool", False,
            "Also read the token from the `access_token` query parameter (RFC 6750 §2.3; "
            "it ends up in logs and history, so it is off unless you need it).", _bool),
)

_BY_KEY: Final = {s.key: s for s in SETTINGS}


@dataclasses.dataclass(frozen=True)
class PreviousKey:
    """A retired key kept for verification only."""

    kid: str
    path: str


@dataclasses.dataclass(frozen=True)
class JWTConfig:
    """One named jwt-config, checked. Field names are the setting keys."""

    name: str
    algorithm: str
    expires_in: int
    secret: str | None = dataclasses.field(default=None, repr=False)
    secret_file: str | None = None
    secret_env: str | None = None
    private_key_file: str | None = None
    private_key_passphrase: str | None = dataclasses.field(default=None, repr=False)
    public_key_file: str | None = None
    kid: str | None = None
    previous_keys: tuple[PreviousKey, ...] = ()
    issuer: str | None = None
    audience: tuple[str, ...] = ()
    not_before: int | None = None
    leeway: int = 0
    jti: bool = True
    typ: str | None = None
    claims_key: str | None = None
    max_token_bytes: int = 8192
    token_route: str | None = None
    token_route_method: str = "POST"
    payload: Callable[..., Any] | None = None
    response: Callable[..., Any] | None = None
    jwks_route: str | None = None
    verify_route: str | None = None
    realm: str | None = None
    userid_claim: str = "sub"
    principals_claim: str | None = None
    identity: Callable[..., Any] | None = None
    revocation_store: str | None = dataclasses.field(default=None, repr=False)
    revocation_route: str | None = None
    refresh_expires_in: int | None = None
    refresh_route: str | None = None
    query_token: bool = False

    @property
    def hmac(self) -> bool:
        """True when the config signs with a shared secret."""
        return is_hmac(self.algorithm)

    @property
    def can_issue(self) -> bool:
        """False for an asymmetric config given only a public key."""
        return self.hmac or self.private_key_file is not None

    def describe(self) -> dict[str, Any]:
        """Public facts about the config, for the introspector and the CLI (no secrets)."""
        return {
            "name": self.name,
            "algorithm": self.algorithm,
            "expires_in": self.expires_in,
            "issuer": self.issuer,
            "audience": list(self.audience),
            "kid": self.kid,
            "previous_kids": [k.kid for k in self.previous_keys],
            "typ": self.typ,
            "claims_key": self.claims_key,
            "can_issue": self.can_issue,
            "token_route": self.token_route,
            "jwks_route": self.jwks_route,
            "verify_route": self.verify_route,
            "revocation": self.revocation_store is not None,
            "refresh_expires_in": self.refresh_expires_in,
        }


def check_hmac_secret(name: str, key: str, algorithm: str, secret: bytes) -> None:
    """Refuse a shared secret that is too short or is really a public/private key."""
    head = secret.lstrip()[:64]
    if (
        head.startswith(b"-----BEGIN")
        or head.startswith((b"ssh-", b"ecdsa-sha2-"))
        or (head.startswith(b"{") and b'"kty"' in secret)
    ):
        raise setting_error(
            name, key,
            "looks like a PEM, JWK or SSH key, not a shared secret",
            "an HS* secret must be random bytes; for key pairs use an RS/PS/ES/EdDSA "
            "algorithm with private_key_file",
        )
    minimum = HMAC_MIN_BYTES[algorithm]
    if len(secret) < minimum:
        raise setting_error(
            name, key,
            f"is shorter than the {minimum} bytes {algorithm} needs (RFC 7518 §3.2)",
            f"use at least {minimum} random bytes, e.g. the output of "
            f"`python -c \"import secrets; print(secrets.token_urlsafe({minimum}))\"`",
        )


def parse_config(name: str, raw: Mapping[str, Any]) -> JWTConfig:
    """Check one config's settings (keys without the ``jwt.<name>.`` prefix)."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ConfigurationError(
            f"{CONFIGS_KEY}: a config name must start with a letter and hold only letters, "
            "digits, '_' and '-' (at most 64). Fix: rename the config."
        )
    if not raw:
        raise ConfigurationError(
            f"{PREFIX}{name}: the config is declared but has no settings. Fix: set at least "
            f"{PREFIX}{name}.algorithm, {PREFIX}{name}.expires_in and a key "
            f"({PREFIX}{name}.secret_file or {PREFIX}{name}.private_key_file)."
        )
    for key in raw:
        if key not in _BY_KEY:
            close = difflib.get_close_matches(key, _BY_KEY, n=1)
            fix = f"did you mean {PREFIX}{name}.{close[0]}?" if close else (
                "see the settings reference in the README for the known keys"
            )
            raise setting_error(name, key, "is not a known setting", fix)

    values: dict[str, Any] = {}
    for setting in SETTINGS:
        value = raw.get(setting.key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if setting.required:
                try:
                    setting.convert(None)
                except _Invalid as exc:
                    raise setting_error(name, setting.key, exc.problem, exc.fix) from None
                raise setting_error(name, setting.key, "is required", "set it")  # pragma: no cover
            values[setting.key] = setting.default
            continue
        try:
            values[setting.key] = setting.convert(value)
        except _Invalid as exc:
            raise setting_error(name, setting.key, exc.problem, exc.fix) from None
    config = JWTConfig(name=name, **values)
    _check_together(config)
    return config


def _check_together(c: JWTConfig) -> None:
    """Rules that involve more than one setting."""
    n = c.name
    if c.hmac:
        for key in ("private_key_file", "public_key_file", "private_key_passphrase"):
            if getattr(c, key) is not None:
                raise setting_error(
                    n, key, f"does not apply to {c.algorithm}, which uses a shared secret",
                    "remove it, or choose an RS/PS/ES/EdDSA algorithm",
                )
        if c.secret is not None and c.secret_file is not None:
            raise setting_error(
                n, "secret_file", "is given together with secret",
                "keep exactly one of secret and secret_file",
            )
        if c.secret is None and c.secret_file is None and c.secret_env is None:
            raise setting_error(
                n, "secret", f"is missing: {c.algorithm} needs a shared secret",
                "set secret_file (a file holding the secret) or secret_env (an environment "
                "variable); an inline secret suits development only",
            )
        if c.secret is not None:
            check_hmac_secret(n, "secret", c.algorithm, c.secret.encode("utf-8"))
        if c.previous_keys and c.kid is None:
            raise setting_error(
                n, "kid", "is required when previous_keys is set",
                "give the current secret a key id so tokens say which key signed them",
            )
    else:
        for key in ("secret", "secret_file", "secret_env"):
            if getattr(c, key) is not None:
                raise setting_error(
                    n, key, f"does not apply to {c.algorithm}, which uses a key pair",
                    "remove it and set private_key_file (and public_key_file), or choose HS*",
                )
        if c.private_key_file is None and c.public_key_file is None:
            raise setting_error(
                n, "private_key_file", f"is missing: {c.algorithm} needs a key pair",
                "set private_key_file to a PEM private key (or only public_key_file for a "
                "config that verifies tokens issued elsewhere)",
            )
        if c.private_key_passphrase is not None and c.private_key_file is None:
            raise setting_error(
                n, "private_key_passphrase", "is given without private_key_file",
                "remove it or set private_key_file",
            )
    if c.payload is not None and c.token_route is None:
        raise setting_error(
            n, "payload", "is set but token_route is not",
            f"set {PREFIX}{n}.token_route (e.g. /token) or remove payload",
        )
    if c.response is not None and c.token_route is None:
        raise setting_error(
            n, "response", "is set but token_route is not",
            f"set {PREFIX}{n}.token_route or remove response",
        )
    if c.jwks_route is not None and c.hmac:
        raise setting_error(
            n, "jwks_route", f"is set but {c.algorithm} uses a shared secret, which must never "
            "be published",
            "remove jwks_route, or use an RS/PS/ES/EdDSA algorithm",
        )
    if c.revocation_store is not None and not c.jti:
        raise setting_error(
            n, "jti", "is off but revocation_store needs a jti in every token",
            "remove jti = false, or remove revocation_store",
        )
    for key, needs in (("revocation_route", "revocation_store"), ("refresh_expires_in", "revocation_store"),
                       ("refresh_route", "refresh_expires_in")):
        if getattr(c, key) is not None and getattr(c, needs) is None:
            raise setting_error(
                n, key, f"is set but {needs} is not",
                f"set {PREFIX}{n}.{needs}" + (
                    " (memory for one process, or redis://host:6379/0)" if needs == "revocation_store" else ""),
            )
    if c.refresh_expires_in is not None and not c.can_issue:
        raise setting_error(
            n, "refresh_expires_in", "needs a signing key but the config has only a public key",
            "set private_key_file, or remove refresh_expires_in",
        )
    if c.typ is not None and c.typ.lower() in {"rt+jwt", "application/rt+jwt"}:
        raise setting_error(n, "typ", "is the type reserved for refresh tokens", "use e.g. at+jwt")
    if c.token_route is not None:
        if c.payload is None:
            raise setting_error(
                n, "token_route", "is set but payload is not",
                f"set {PREFIX}{n}.payload to the dotted name of a callable(request) "
                "returning the claims",
            )
        if not c.can_issue:
            raise setting_error(
                n, "token_route", "needs a signing key but the config has only a public key",
                "set private_key_file, or remove token_route",
            )


def configs_from_settings(settings: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Group ``jwt.<name>.<key>`` settings under the names listed in ``jwt.configs``.

    Returns ``{}`` when no ``jwt.`` setting is present at all.
    """
    own = {k: v for k, v in settings.items() if isinstance(k, str) and k.startswith(PREFIX)}
    if CONFIGS_KEY not in own:
        if set(own) - _GLOBAL_KEYS:
            own = {k: v for k, v in own.items() if k not in _GLOBAL_KEYS}
            first = sorted(own)[0]
            raise ConfigurationError(
                f"{first} is set but {CONFIGS_KEY} is missing. Fix: list the config names, "
                f"e.g. '{CONFIGS_KEY} = {first.split('.')[1]}'."
            )
        return {}
    names = _words(own.pop(CONFIGS_KEY))
    own.pop(SECURITY_POLICY_KEY, None)
    if not names:
        raise ConfigurationError(
            f"{CONFIGS_KEY} is empty. Fix: list at least one config name, e.g. "
            f"'{CONFIGS_KEY} = main', then set {PREFIX}main.algorithm and the rest."
        )
    seen: set[str] = set()
    for config_name in names:
        if config_name in seen:
            raise ConfigurationError(
                f"{CONFIGS_KEY} lists '{config_name}' twice. Fix: list each name once."
            )
        seen.add(config_name)
    grouped: dict[str, dict[str, Any]] = {config_name: {} for config_name in names}
    for full_key, value in own.items():
        config_name, dot, key = full_key[len(PREFIX):].partition(".")
        if not dot or not key:
            raise ConfigurationError(
                f"{full_key} is not a setting of pyramid_jwtnode. Fix: settings are named "
                f"{PREFIX}<config>.<key>, with <config> listed in {CONFIGS_KEY}."
            )
        if config_name not in grouped:
            raise ConfigurationError(
                f"{full_key} is set but '{config_name}' is not listed in {CONFIGS_KEY}. "
                f"Fix: add it to {CONFIGS_KEY}, or correct the name."
            )
        grouped[config_name][key] = value
    return grouped


def security_policy_from_settings(settings: Mapping[str, Any]) -> str | None:
    """The config named by ``jwt.security_policy``, if any (pure)."""
    value = settings.get(SECURITY_POLICY_KEY)
    names = _words(value) if value is not None else ()
    if len(names) > 1:
        raise ConfigurationError(
            f"{SECURITY_POLICY_KEY} names several configs. Fix: name one; to accept tokens of "
            "several configs, compose policies in code (see the README)."
        )
    if names and not _NAME_RE.fullmatch(names[0]):
        raise ConfigurationError(
            f"{SECURITY_POLICY_KEY} is not a config name. Fix: name a config from {CONFIGS_KEY}."
        )
    return names[0] if names else None


def reference_markdown() -> str:
    """The settings reference as a Markdown table (the README holds this verbatim)."""
    rows = ["| key `jwt.<name>.…` | type | default | meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        if s.required:
            default = "**required**"
        elif s.default in (None, ()):
            default = "–"
        else:
            default = f"`{str(s.default).lower() if isinstance(s.default, bool) else s.default}`"
        rows.append(f"| `{s.key}` | {s.type} | {default} | {s.doc} |")
    return "\n".join(rows) + "\n"
