"""Every setting of a jwt-config, stated once, and the pure parser that checks them.

Each field of :class:`JWTConfig` is one setting: its name, Python type, default,
converter and documentation live in that one declaration. :data:`SETTINGS` (the
table the README and the docs print) and :func:`parse_config` are derived from
it, and the rules between settings are the data in :data:`RULES`. Ini settings
(``jwt.<name>.<key>``, all strings) and keyword arguments of
``config.add_jwt_config(name, **settings)`` (strings or native values) go
through the same parser.

Nothing here touches the file system, the environment or Pyramid's
Configurator: key files and ``secret_env`` are read by :mod:`pyramid_jwtnode.jose.keys`.
Every error is a :class:`~pyramid.exceptions.ConfigurationError` that names the
setting and says how to fix it, and never repeats a value.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, Final

from pyramid.exceptions import ConfigurationError

from ..jose.algorithms import ALGORITHMS, hmac_secret_problem, is_hmac
from ..jose.limits import RESERVED_CLAIMS
from .converters import Choice, Dotted, Flag, Invalid, Number, Text, Url, Words

__all__ = [
    "PREFIX",
    "CONFIGS_KEY",
    "SECURITY_POLICY_KEY",
    "SETTINGS",
    "GLOBAL_SETTINGS",
    "RULES",
    "Setting",
    "JWTConfig",
    "PreviousKey",
    "parse_config",
    "configs_from_settings",
    "security_policy_from_settings",
    "clock_from_settings",
    "CLOCK_KEY",
    "METRICS_KEY",
    "METRICS_ROUTE_KEY",
    "METRICS_TOKEN_ENV_KEY",
    "MetricsSettings",
    "metrics_from_settings",
    "setting_error",
    "issuer_store_prefix",
]

PREFIX: Final = "jwt."
CONFIGS_KEY: Final = "jwt.configs"
SECURITY_POLICY_KEY: Final = "jwt.security_policy"
CLOCK_KEY: Final = "jwt.clock"
METRICS_KEY: Final = "jwt.metrics"
METRICS_ROUTE_KEY: Final = "jwt.metrics_route"
METRICS_TOKEN_ENV_KEY: Final = "jwt.metrics_token_env"

_NAME_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


def _sentence(text: str) -> str:
    """``text`` ending in exactly one full stop (or its own question mark)."""
    text = text.rstrip()
    return text if text.endswith((".", "?", "!")) else text + "."


def issuer_store_prefix(issuer: str) -> str:
    """The Redis key prefix a config with this ``iss`` gets by default: configs that accept
    the same issuer's tokens share their records (on every host), others never meet."""
    return f"pyramid_jwtnode:{hashlib.sha256(issuer.encode('utf-8')).hexdigest()[:16]}:"


def setting_error(name: str, key: str, problem: str, fix: str) -> ConfigurationError:
    """The one shape of every settings error: config, key, problem, fix."""
    return ConfigurationError(f"{PREFIX}{name}.{key} {problem}. Fix: {_sentence(fix)}")


# -- converters of this package's own settings ----------------------------------------


@dataclasses.dataclass(frozen=True)
class KeyLines:
    """``KID FILE`` pairs, one per line (a dict ``{kid: file}`` in code)."""

    kind: str = "lines"

    def __call__(self, value: Any) -> tuple[PreviousKey, ...]:
        pairs: list[tuple[Any, ...]]
        if isinstance(value, Mapping):
            pairs = [(str(k), v) for k, v in value.items()]
        elif isinstance(value, str):
            pairs = [tuple(line.split()) for line in value.splitlines() if line.strip()]
        else:
            raise Invalid("must list 'KID FILE' pairs", "one pair per line, or a dict in code")
        keys = []
        for pair in pairs:
            if len(pair) != 2:
                raise Invalid("must list one 'KID FILE' pair per line",
                               "write e.g. '2026-10 %(here)s/keys/old.pub' on its own line")
            kid, path = _KID(pair[0]), _PATH(pair[1])
            if kid is None or path is None:
                raise Invalid("has an empty key id or path", "write 'KID FILE' on each line")
            keys.append(PreviousKey(kid=kid, path=path))
        if len({k.kid for k in keys}) != len(keys):
            raise Invalid("names the same key id twice", "give each previous key its own id")
        return tuple(keys)


Converter = Text | Number | Flag | Words | Choice | Dotted | Url | KeyLines

_KID: Final = Text(r"[\x21-\x7e]{1,128}", "must be 1 to 128 printable ASCII characters without spaces",
                   "use a short id such as 2026-11 or key-1")
_PATH: Final = Text(r"[^\r\n]+", "must be a single file path", "give one path, e.g. %(here)s/keys/p.pem",
                    kind="path")
_ROUTE: Final = Text(r"/\S*", "must be a URL path starting with /", "give e.g. /jwt/generate",
                     kind="path")
_CLAIM_PATH: Final = Text(r"[A-Za-z_][A-Za-z0-9_:-]*(\.[A-Za-z_][A-Za-z0-9_:-]*)*",
                          "must be a claim name, or a dotted path into nested claims",
                          "give e.g. sub, roles or data.email")
_SECONDS: Final = Number(1, fix="give a positive number of seconds, e.g. 3600")
_COOKIE_NAME: Final = Text(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}", "must be a cookie name (a token: letters, "
                           "digits and !#$%&'*+.^_`|~-)", "give e.g. api_access")

_TAKES_REQUEST: Final = Dotted("point it at a function taking the request")
_TAKES_ISSUED: Final = Dotted("point it at a function taking (request, issued)")
_TAKES_CLAIMS: Final = Dotted("point it at a function taking (request, claims)")

# -- the table: one declaration per setting -------------------------------------------


def _setting(convert: Converter, doc: str, default: Any = dataclasses.MISSING, *,
             secret: bool = False) -> Any:
    """A field of :class:`JWTConfig` that is a setting (``secret`` ones never shown)."""
    return dataclasses.field(default=default, repr=not secret,
                             metadata={"convert": convert, "doc": doc, "secret": secret})


@dataclasses.dataclass(frozen=True)
class PreviousKey:
    """A retired key kept for verification only."""

    kid: str
    path: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class JWTConfig:
    """One named jwt-config, checked. Every field but ``name`` is a setting of that name."""

    name: str
    algorithm: str = _setting(
        Choice(ALGORITHMS, f"set one of {', '.join(ALGORITHMS)}", "algorithm"),
        "Signing algorithm: HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512 or "
        "EdDSA. Tokens are only ever verified with this one.")
    expires_in: int = _setting(_SECONDS, "Token lifetime in seconds; `exp = iat + expires_in`. "
                               "A config that only verifies gives the lifetime of the tokens it "
                               "accepts: a family it ends is remembered that long.")
    secret: str | None = _setting(
        Text(), "HS*: the shared secret, at least 32/48/64 bytes for HS256/384/512. Prefer "
        "`secret_file` or `secret_env` outside development.", None, secret=True)
    secret_file: str | None = _setting(
        _PATH, "HS*: a file holding the secret (surrounding white space is stripped).", None)
    secret_env: str | None = _setting(
        Text(), "HS*: the name of an environment variable holding the secret. When that "
        "variable is set it wins; `secret`/`secret_file` beside it are the fallback when it is "
        "not.", None)
    private_key_file: str | None = _setting(
        _PATH, "RS/PS/ES/EdDSA: PEM private key used to sign. Absent: the config only "
        "verifies.", None)
    private_key_passphrase: str | None = _setting(
        Text(), "Passphrase of an encrypted `private_key_file`.", None, secret=True)
    public_key_file: str | None = _setting(
        _PATH, "RS/PS/ES/EdDSA: PEM public key; derived from the private key when absent, and "
        "checked against it when both are given.", None)
    jwks_url: str | None = _setting(
        Url(), "A verify-only config fed by a remote JWK Set (an identity provider's, or another "
        "service's `jwks_route`): its URL, https (plain http only to a loopback host). Keys are "
        "fetched on first need, never at start-up, and only those the pinned `algorithm` can "
        "use are kept; `issuer` is required.", None)
    discovery_url: str | None = _setting(
        Url(), "Instead of `jwks_url`: an OpenID Connect discovery document "
        "(`…/.well-known/openid-configuration`) whose `jwks_uri` and `issuer` are used; an "
        "`issuer` set here must equal the document's.", None)
    jwks_cache_ttl: int = _setting(
        Number(1, 86400, fix="give a number of seconds from 1 to 86400, e.g. 300"),
        "Seconds a fetched key set is kept (a shorter `Cache-Control: max-age` of the answer "
        "wins, never under 1 s); once refreshed, keys it no longer holds stop verifying.", 300)
    jwks_timeout: float = _setting(
        Number(0.1, 30, fix="give seconds from 0.1 to 30, e.g. 2", kind="number", decimal=True),
        "Seconds a key set fetch may take in all (the discovery document, connecting, the "
        "answer's headers and body together, however slowly they arrive) before it counts as "
        "failed.", 2.0)
    jwks_max_stale: int = _setting(
        Number(0, 604800, fix="give a number of seconds from 0 to 604800, e.g. 86400"),
        "Seconds past its expiry that a key set which cannot be refreshed stays in use "
        "(stale-if-error); after that it is dropped and its tokens get 503 until a fetch "
        "succeeds, so blocking the way to the identity provider cannot keep a rotated-out key "
        "valid.", 86400)
    kid: str | None = _setting(
        _KID, "Key id put in the token header. Asymmetric keys default to their RFC 7638 "
        "thumbprint; HS keys have none unless set.", None)
    previous_keys: tuple[PreviousKey, ...] = _setting(
        KeyLines(), "Key rotation: retired verification keys, one `KID FILE` pair per line (a "
        "PEM public key for asymmetric configs, a secret file for HS). Tokens naming that kid "
        "still verify; new tokens are signed with the current key.", ())
    issuer: str | None = _setting(
        Text(), "`iss` claim set on issue and required on verification.", None)
    audience: tuple[str, ...] = _setting(
        Words(), "`aud` claim(s): set on issue (one value: a string; several: a list) and one of "
        "them required on verification.", ())
    not_before: int | None = _setting(
        Number(0, fix="give e.g. 0 or 30"),
        "When set, `nbf = iat + not_before` (seconds, 0 or more).", None)
    leeway: int = _setting(
        Number(0, 300, "is above the 300 s limit",
               "a leeway absorbs clock skew only; keep it between 0 and 300 seconds"),
        "Clock skew allowed when checking `exp`, `nbf` and `iat`, 0 to 300 seconds.", 0)
    jti: bool = _setting(Flag(), "Put a random, unique `jti` claim in every token.", True)
    typ: str | None = _setting(
        Text(r"[A-Za-z0-9!#$&^_.+-]+(/[A-Za-z0-9!#$&^_.+-]+)?",
             "must be a media type such as JWT or at+jwt", "give e.g. at+jwt"),
        "Header `typ`. When set (e.g. `at+jwt`), verification requires it; when not, tokens "
        "carry `JWT` and any `typ` but the refresh tokens' `rt+jwt` is accepted.", None)
    claims_key: str | None = _setting(
        Text(rf"(?!({'|'.join(sorted(RESERVED_CLAIMS | {'sub'}))})$)[A-Za-z_][A-Za-z0-9_.:-]{{0,63}}",
             "must be a plain claim name that is not a registered or reserved one",
             "use a private name such as data"),
        "Nest the payload under this claim (`data` gives the recipe's layout `{\"data\": ..., "
        "\"iat\": ..., \"exp\": ...}`); any JSON value is then allowed.", None)
    max_token_bytes: int = _setting(
        Number(256, 65536, "must lie between 256 and 65536 bytes",
               "the default, 8192, suits most tokens"),
        "Tokens longer than this are refused before any decoding (256 to 65536).", 8192)
    max_body_bytes: int | None = _setting(
        Number(1024, 1048576, "must lie between 1024 and 1048576 bytes",
               "leave it unset: the default suits token, refresh and revocation forms"),
        "Largest request body the config's endpoints read (1024 to 1048576); a larger one is "
        "refused with 413 before it is parsed. Default: 16384, or `max_token_bytes` + 1024 "
        "when that is larger.", None)
    token_route: str | None = _setting(
        _ROUTE, "URL pattern of a token view for this config (needs `payload`).", None)
    token_route_method: str = _setting(
        Choice(("GET", "POST"), "give GET or POST; POST suits a token endpoint (RFC 6749 §3.2)",
               "method", fold=True),
        "HTTP method of the token view: POST (RFC 6749) or GET (the recipe).", "POST")
    payload: Callable[..., Any] | None = _setting(
        _TAKES_REQUEST, "Dotted name of `payload(request)` returning the claims to sign; it may "
        "raise an HTTPException (e.g. 401) that is passed through.", None)
    response: Callable[..., Any] | None = _setting(
        _TAKES_ISSUED, "Dotted name of `response(request, issued)` returning the JSON body of the "
        "token view, to shape it differently from the RFC 6749 default.", None)
    jwks_route: str | None = _setting(
        _ROUTE, "URL pattern serving this config's public keys (current and previous) as an RFC "
        "7517 JWK Set, e.g. `/.well-known/jwks.json`. Asymmetric configs only.", None)
    verify_route: str | None = _setting(
        _ROUTE, "URL pattern of the recipe's *validate* mode: answers a valid bearer token with "
        "its claims as JSON and anything else with the RFC 6750 challenge.", None)
    realm: str | None = _setting(
        Text(r'[\x20-\x21\x23-\x5b\x5d-\x7e]{1,128}',
             "must be printable ASCII without quotes or backslashes", "give e.g. api"),
        "`realm` of the `WWW-Authenticate: Bearer` challenge; defaults to the config name.", None)
    userid_claim: str = _setting(
        _CLAIM_PATH, "Claim holding the user id (`authenticated_userid`); a dotted path such as "
        "`data.email` reaches into nested claims.", "sub")
    principals_claim: str | None = _setting(
        _CLAIM_PATH, "Claim holding the principals for ACLs: a list of strings (`roles`) or a "
        "space-separated string (`scope`); a dotted path reaches into nested claims.", None)
    identity: Callable[..., Any] | None = _setting(
        _TAKES_CLAIMS, "Dotted name of `identity(request, claims)` returning the identity (e.g. a "
        "user object) or `None` to refuse; by default the identity is the verified claims.", None)
    revocation_store: str | None = _setting(
        Text(r"memory|(rediss?|unix|rediss?\+cluster)://\S+|redis\+sentinel://[^/\s]+/[^/\s]+(/\d+)?/?",
             "must be 'memory' or a Redis URL (a Sentinel URL names its service)",
             "give memory (one process: development and tests), redis://host:6379/0, "
             "redis+cluster://host:7000 or redis+sentinel://host:26379/service/0"),
        "Where revocations, refresh families and subject cut-offs live: `memory` (one "
        "process) or Redis, shared by every process and host: `redis://host:6379/0` "
        "(`rediss://`, `unix://`), `redis+cluster://host:7000` for a Redis Cluster, "
        "`redis+sentinel://host:26379,host2:26379/service/0` for a Sentinel-managed primary. "
        "When set, verification refuses revoked tokens; when the store cannot be reached, "
        "requests that need it get 503 (fail closed).", None, secret=True)
    store_prefix: str | None = _setting(
        Text(r"[\x21-\x7a|~]{1,64}", "must be 1 to 64 printable ASCII characters without spaces "
             "or braces", "give e.g. myapp:jwt:"),
        "Prefix of every Redis key of this config: one of this app's own, the same on each of "
        "its hosts, so that apps can share one Redis. Default: derived from `issuer` "
        "(`pyramid_jwtnode:` and 16 hex digits of its SHA-256); a config with a Redis store "
        "and no `issuer` must set it.", None)
    revocation_route: str | None = _setting(
        _ROUTE, "URL pattern of an RFC 7009 revocation endpoint (POST `token=...`, always 200). "
        "Needs `revocation_store`.", None)
    logout_route: str | None = _setting(
        _ROUTE, "URL pattern of a logout endpoint (POST): it ends the refresh family of the "
        "request's access token (header or cookie) or, once that has expired, of its refresh "
        "cookie, clears the cookies, and answers `{\"revoked\": true|false}`. For a cookie "
        "config it must lie under the refresh cookie's path (beside the refresh route). Needs "
        "`revocation_store`.", None)
    refresh_expires_in: int | None = _setting(
        _SECONDS, "Lifetime of refresh tokens in seconds; when set, the token view also returns "
        "a `refresh_token`, rotated on every use with reuse detection. Needs "
        "`revocation_store`.", None)
    refresh_max_age: int = _setting(
        _SECONDS, "Absolute lifetime of a refresh family in seconds: no refresh token of a "
        "family is honoured past the family's start plus this, however recently it was "
        "rotated (the user logs in again). Default 30 days.", 2592000)
    refresh_payload: Callable[..., Any] | None = _setting(
        _TAKES_CLAIMS, "Dotted name of `refresh_payload(request, claims)`, called at every refresh "
        "with the payload the family carries; it returns the payload of the new access token "
        "(fresh roles), or `None` (or raises an HTTPException) to refuse: 400 `invalid_grant` "
        "and the family ends. Without it, the login's payload is carried unchanged.", None)
    refresh_reuse_interval: int = _setting(
        Number(0, 60, "is above the 60 s limit", "give 0 to 60 seconds; 0 turns the retry grace off"),
        "Retry grace in seconds (0 to 60): within it, the refresh token just rotated may be "
        "presented once more (a retry after a lost answer) and gets a valid pair; after it, "
        "reuse ends the family. Default 0: any reuse ends the family.", 0)
    refresh_route: str | None = _setting(
        _ROUTE, "URL pattern of the refresh endpoint (POST "
        "`grant_type=refresh_token&refresh_token=...`, RFC 6749 §6). Needs "
        "`refresh_expires_in`.", None)
    query_token: bool = _setting(
        Flag(), "Also read the token from the `access_token` query parameter (RFC 6750 §2.3; it "
        "ends up in logs and history, so it is off unless you need it).", False)
    token_location: tuple[str, ...] = _setting(
        Words(choices=("header", "cookie")),
        "Where clients carry tokens: `header` (`Authorization: Bearer`), `cookie` (HttpOnly "
        "cookies set by the token and refresh views, for browsers; state-changing requests "
        "they authenticate need the token's CSRF value in `X-CSRF-Token`), or both "
        "(`header cookie`: a request carrying both is decided by the header).", ("header",))
    access_cookie: str | None = _setting(
        _COOKIE_NAME, "Name of the access-token cookie (HttpOnly); default `<config>_access`.", None)
    refresh_cookie: str | None = _setting(
        _COOKIE_NAME, "Name of the refresh-token cookie (HttpOnly, `Path` `refresh_cookie_path`); "
        "default `<config>_refresh`.", None)
    csrf_cookie: str | None = _setting(
        _COOKIE_NAME, "Name of the cookie page script reads the CSRF value from (not HttpOnly); "
        "default `<config>_csrf`.", None)
    cookie_secure: bool = _setting(
        Flag(), "`Secure` on the cookies (sent over HTTPS only). Turn it off only for plain-HTTP "
        "development.", True)
    cookie_samesite: str = _setting(
        Choice(("Lax", "Strict", "None"), "give Lax, Strict or None", "SameSite value"),
        "`SameSite` of the cookies: `Lax`, `Strict`, or `None` (cross-site; needs "
        "`cookie_secure`).", "Lax")
    cookie_domain: str | None = _setting(
        Text(r"\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*", "must be a host name", "give e.g. example.com"),
        "`Domain` of the cookies; unset (the default) keeps them to the host that set them.", None)
    cookie_path: str = _setting(
        _ROUTE, "`Path` of the access and CSRF cookies.", "/")
    refresh_cookie_path: str | None = _setting(
        _ROUTE, "`Path` of the refresh cookie. Default: the refresh route's parent (`/auth` for "
        "`/auth/refresh`; the route itself when it sits at the root), so that the cookie also "
        "reaches a logout view beside it (`/auth/logout`), which ends the refresh family even "
        "after the access token has expired. The refresh route must lie under it.", None)
    trusted_origins: tuple[str, ...] = _setting(
        Words(), "Origins (`https://app.example`) besides the app's own whose pages may use the "
        "cookie-mode token, refresh and logout routes; a request whose `Origin` (or "
        "`Sec-Fetch-Site`, or `Referer`) names another site is refused (403).", ())
    userid_prefix: str | None = _setting(
        Text(r"[^\s]{1,64}", "must be 1 to 64 characters without spaces", "give e.g. idp:"),
        "Put before the user id of this config's tokens (`idp:` makes `authenticated_userid` "
        "`idp:alice`), so that two configs' users of one name stay apart.", None)

    @property
    def hmac(self) -> bool:
        """True when the config signs with a shared secret."""
        return is_hmac(self.algorithm)

    @property
    def can_issue(self) -> bool:
        """False for an asymmetric config given only a public key, or fed by a remote key set."""
        return self.hmac or self.private_key_file is not None

    @property
    def remote(self) -> bool:
        """True when the keys come from a remote JWK Set (``jwks_url`` or ``discovery_url``)."""
        return self.jwks_url is not None or self.discovery_url is not None

    @property
    def cookies(self) -> bool:
        """True when tokens travel in cookies (``token_location`` holds ``cookie``)."""
        return "cookie" in self.token_location

    def cookie_name(self, kind: str) -> str:
        """The name of the ``access``, ``refresh`` or ``csrf`` cookie."""
        configured: str | None = getattr(self, f"{kind}_cookie")
        return configured or f"{self.name}_{kind}"

    @property
    def shared_store(self) -> bool:
        """True when ``revocation_store`` is a Redis (which other apps may share)."""
        return self.revocation_store is not None and self.revocation_store != "memory"

    @property
    def key_prefix(self) -> str | None:
        """The prefix of this config's Redis keys: ``store_prefix``, else one derived from
        ``issuer`` (:func:`issuer_store_prefix`); ``None`` when neither is set."""
        if self.store_prefix is not None:
            return self.store_prefix
        return issuer_store_prefix(self.issuer) if self.issuer is not None else None

    @property
    def body_limit(self) -> int:
        """The largest request body the config's endpoints read (``max_body_bytes``)."""
        if self.max_body_bytes is not None:
            return self.max_body_bytes
        return max(16384, self.max_token_bytes + 1024)

    def describe(self) -> dict[str, Any]:
        """Public facts about the config, for the introspector and the CLI (no secrets)."""
        facts: dict[str, Any] = {"name": self.name}
        for s in SETTINGS:
            value = getattr(self, s.key)
            if s.secret:
                continue
            if callable(value):
                value = f"{value.__module__}:{getattr(value, '__qualname__', type(value).__name__)}"
            elif s.key == "previous_keys":
                value = [k.kid for k in value]
            elif isinstance(value, tuple):
                value = list(value)
            facts[s.key] = value
        facts["can_issue"] = self.can_issue
        facts["revocation"] = self.revocation_store is not None
        facts["store_prefix"] = self.key_prefix if self.shared_store else None
        return facts


@dataclasses.dataclass(frozen=True)
class Setting:
    """One row of the settings table, read off a :class:`JWTConfig` field."""

    key: str
    type: str
    default: Any
    doc: str
    convert: Converter = dataclasses.field(repr=False, compare=False)
    secret: bool = False

    @property
    def required(self) -> bool:
        return self.default is dataclasses.MISSING


SETTINGS: Final[tuple[Setting, ...]] = tuple(
    Setting(f.name, f.metadata["convert"].kind, f.default, f.metadata["doc"],
            f.metadata["convert"], f.metadata["secret"])
    for f in dataclasses.fields(JWTConfig) if "convert" in f.metadata
)
_BY_KEY: Final = {s.key: s for s in SETTINGS}

#: The keys directly under ``jwt.`` (not of one config): name, type and meaning.
GLOBAL_SETTINGS: Final[tuple[tuple[str, str, str], ...]] = (
    (CONFIGS_KEY, "words",
     "The config names, separated by spaces or new lines; each has its settings under "
     "`jwt.<name>.`."),
    (SECURITY_POLICY_KEY, "words",
     "The configs whose bearer tokens authenticate requests (one or more, in order): installs "
     "the security policy and its RFC 6750 forbidden view. A token is checked by the config it "
     "belongs to: an exact `kid` match, else its `iss`, else the listed configs of its `alg`."),
    (CLOCK_KEY, "callable",
     "For tests: a callable (or its dotted name) returning the time, used instead of "
     "`time.time` by every config declared in the settings, e.g. a "
     "`pyramid_jwtnode.tools.testing.Clock`. Never set it in production."),
    (METRICS_KEY, "bool",
     "Count verifications (with their reason codes and time), issued tokens, refresh grants and "
     "remote key set fetches in Prometheus metrics (needs the `metrics` extra). Without "
     "`jwt.metrics_route` they go to prometheus_client's default registry, for the app's own "
     "exporter. Default false: nothing is counted, and prometheus_client is never imported."),
    (METRICS_ROUTE_KEY, "path",
     "Serve the metrics at this path (`GET`, Prometheus's text format), e.g. `/metrics`; turns "
     "`jwt.metrics` on. Under several worker processes, set `PROMETHEUS_MULTIPROC_DIR`."),
    (METRICS_TOKEN_ENV_KEY, "text",
     "The name of an environment variable holding the token the scraper sends as "
     "`Authorization: Bearer <token>`: any other request to the metrics route gets 404. Unset, "
     "the route answers anyone: use it in production unless the route is out of the public's reach."),
)
_GLOBAL_KEYS: Final = frozenset(key for key, _, _ in GLOBAL_SETTINGS)


# -- rules between settings: walked in order, the first broken one is reported -------


@dataclasses.dataclass(frozen=True)
class Rule:
    """``key`` is wrong when ``broken(config)``; ``problem`` and ``fix`` may use ``{alg}`` and
    ``{p}`` (the config's prefix, ``jwt.<name>.``)."""

    key: str
    broken: Callable[[JWTConfig], bool]
    problem: str
    fix: str


def _set(config: JWTConfig, key: str) -> bool:
    return getattr(config, key) is not None


def key_given(config: JWTConfig, key: str) -> bool:
    """True when ``key`` differs from its default (was set to something else)."""
    return bool(getattr(config, key) != _BY_KEY[key].default)


_REMOTE: Final = ("jwks_url", "discovery_url")


def _host_cookie_problem(config: JWTConfig, kind: str) -> str | None:
    """Why a ``__Host-`` cookie name cannot work (RFC 6265bis §4.1.3.2), or ``None``."""
    if not config.cookies or not config.cookie_name(kind).startswith("__Host-"):
        return None
    path = config.refresh_cookie_path if kind == "refresh" else config.cookie_path
    if kind == "refresh" and path is None:
        return "the refresh cookie's path is the refresh route's, not /"
    if not config.cookie_secure or config.cookie_domain is not None or path != "/":
        return "not Secure, with a Domain, or a path other than /"
    return None


def _origin_problem(origin: str) -> str | None:
    """Why ``origin`` is not ``scheme://host[:port]``, or ``None``."""
    parts = urllib.parse.urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        return "not an origin"
    return None


def _host_cookie_rule(kind: str) -> Rule:
    return Rule(f"{kind}_cookie", lambda c: _host_cookie_problem(c, kind) is not None,
                "is a __Host- name, which browsers drop unless the cookie is Secure, has Path=/ and "
                "no Domain", "set cookie_secure on, remove cookie_domain and keep the cookie's path "
                "/ (refresh_cookie_path = / for the refresh cookie), or use a __Secure- name")


def _secure_cookie_rule(kind: str) -> Rule:
    return Rule(f"{kind}_cookie", lambda c: c.cookies and c.cookie_name(kind).startswith("__Secure-")
                and not c.cookie_secure, "is a __Secure- name but cookie_secure is off: browsers "
                "drop it", "keep cookie_secure on (HTTPS)")


def _remote_needs_pairs(key: str) -> Rule:
    return Rule(key, lambda c: c.hmac and _set(c, key),
                "needs an RS/PS/ES/EdDSA algorithm: a shared secret is never published in a key set",
                "set the algorithm the key set's owner signs with, e.g. RS256")


def _local_only(key: str) -> Rule:
    return Rule(key, lambda c: c.remote and key_given(c, key),
                "does not apply to a config whose keys come from jwks_url or discovery_url",
                "remove it: the remote key set provides the keys and their ids")


def _refresh_only(key: str) -> Rule:
    return Rule(key, lambda c: key_given(c, key) and not _set(c, "refresh_expires_in"),
                "is set but refresh_expires_in is not", "set {p}refresh_expires_in, or remove it")


def _cookies_only(key: str) -> Rule:
    return Rule(key, lambda c: key_given(c, key) and not c.cookies,
                "is set but token_location has no cookie", "set {p}token_location = cookie (or "
                "header cookie), or remove it")


def _remote_only(key: str) -> Rule:
    return Rule(key, lambda c: key_given(c, key) and not c.remote,
                "is set but neither jwks_url nor discovery_url is", "remove it, or set {p}jwks_url")


def _hmac_only(key: str) -> Rule:
    return Rule(key, lambda c: c.hmac and _set(c, key),
                "does not apply to {alg}, which uses a shared secret",
                "remove it, or choose an RS/PS/ES/EdDSA algorithm")


def _pairs_only(key: str) -> Rule:
    return Rule(key, lambda c: not c.hmac and _set(c, key),
                "does not apply to {alg}, which uses a key pair",
                "remove it and set private_key_file (and public_key_file), or choose HS*")


def _needs(key: str, needed: str, hint: str = "") -> Rule:
    return Rule(key, lambda c: _set(c, key) and not _set(c, needed),
                f"is set but {needed} is not", f"set {{p}}{needed}{hint}, or remove {key}")


_STORE_HINT: Final = " (memory for one process, or redis://host:6379/0)"

RULES: Final[tuple[Rule, ...]] = (
    *map(_remote_needs_pairs, _REMOTE),
    *map(_hmac_only, ("private_key_file", "public_key_file", "private_key_passphrase")),
    *map(_pairs_only, ("secret", "secret_file", "secret_env")),
    Rule("secret_file", lambda c: _set(c, "secret") and _set(c, "secret_file"),
         "is given together with secret", "keep exactly one of secret and secret_file"),
    Rule("secret", lambda c: c.hmac and not (c.secret or c.secret_file or c.secret_env),
         "is missing: {alg} needs a shared secret",
         "set secret_file (a file holding the secret) or secret_env (an environment variable); "
         "an inline secret suits development only"),
    Rule("kid", lambda c: c.hmac and bool(c.previous_keys) and c.kid is None,
         "is required when previous_keys is set",
         "give the current secret a key id so tokens say which key signed them"),
    Rule("private_key_file", lambda c: not c.hmac and not (c.private_key_file or c.public_key_file
                                                            or c.remote),
         "is missing: {alg} needs a key pair",
         "set private_key_file to a PEM private key (or only public_key_file, jwks_url or "
         "discovery_url for a config that verifies tokens issued elsewhere)"),
    Rule("discovery_url", lambda c: _set(c, "jwks_url") and _set(c, "discovery_url"),
         "is given together with jwks_url", "keep exactly one of jwks_url and discovery_url"),
    *map(_local_only, ("private_key_file", "public_key_file", "private_key_passphrase", "kid",
                       "previous_keys", "jwks_route")),
    Rule("issuer", lambda c: _set(c, "jwks_url") and not _set(c, "issuer"),
         "is required with jwks_url",
         "set {p}issuer to the iss claim of the tokens the key set's owner issues"),
    *map(_remote_only, ("jwks_cache_ttl", "jwks_timeout", "jwks_max_stale")),
    _needs("private_key_passphrase", "private_key_file"),
    _needs("payload", "token_route", " (e.g. /token)"),
    _needs("response", "token_route"),
    Rule("jwks_route", lambda c: c.hmac and _set(c, "jwks_route"),
         "is set but {alg} uses a shared secret, which must never be published",
         "remove jwks_route, or use an RS/PS/ES/EdDSA algorithm"),
    Rule("jti", lambda c: not c.jti and _set(c, "revocation_store"),
         "is off but revocation_store needs a jti in every token",
         "remove jti = false, or remove revocation_store"),
    _needs("revocation_route", "revocation_store", _STORE_HINT),
    _needs("logout_route", "revocation_store", _STORE_HINT),
    _needs("refresh_expires_in", "revocation_store", _STORE_HINT),
    _needs("refresh_route", "refresh_expires_in"),
    *map(_refresh_only, ("refresh_max_age", "refresh_payload", "refresh_reuse_interval")),
    *map(_cookies_only, ("access_cookie", "refresh_cookie", "csrf_cookie", "cookie_secure",
                         "cookie_samesite", "cookie_domain", "cookie_path", "refresh_cookie_path",
                         "trusted_origins")),
    *map(_host_cookie_rule, ("access", "refresh", "csrf")),
    *map(_secure_cookie_rule, ("access", "refresh", "csrf")),
    Rule("trusted_origins", lambda c: any(_origin_problem(o) for o in c.trusted_origins),
         "holds something that is not an origin", "give scheme://host[:port] values, e.g. "
         "https://app.example, separated by spaces"),
    Rule("cookie_samesite", lambda c: c.cookie_samesite == "None" and not c.cookie_secure,
         "is None but cookie_secure is off: browsers refuse such cookies",
         "keep cookie_secure on (HTTPS), or use Lax"),
    Rule("token_location", lambda c: not c.token_location,
         "names no location", "give header, cookie, or both"),
    Rule("access_cookie", lambda c: c.cookies and len({c.cookie_name(k) for k in
                                                       ("access", "refresh", "csrf")}) < 3,
         "names the same cookie as refresh_cookie or csrf_cookie", "give each cookie its own name"),
    Rule("store_prefix", lambda c: key_given(c, "store_prefix") and not _set(c, "revocation_store"),
         "is set but revocation_store is not", "set {p}revocation_store, or remove store_prefix"),
    Rule("store_prefix", lambda c: c.shared_store and c.key_prefix is None,
         "is required: revocation_store is a Redis, which other apps may share, and the config "
         "has no issuer to derive a prefix of its own from",
         "set {p}store_prefix to a prefix of this app's own, the same on each of its hosts "
         "(e.g. myapp:jwt:), or set {p}issuer"),
    Rule("refresh_expires_in", lambda c: _set(c, "refresh_expires_in") and not c.can_issue,
         "needs a signing key but the config has only a public key",
         "set private_key_file, or remove refresh_expires_in"),
    Rule("max_body_bytes", lambda c: c.body_limit < c.max_token_bytes + 1024,
         "is too small for a form carrying a token of max_token_bytes",
         "make max_body_bytes at least max_token_bytes + 1024"),
    Rule("typ", lambda c: (c.typ or "").lower() in {"rt+jwt", "application/rt+jwt"},
         "is the type reserved for refresh tokens", "use e.g. at+jwt"),
    Rule("token_route", lambda c: _set(c, "token_route") and not _set(c, "payload"),
         "is set but payload is not",
         "set {p}payload to the dotted name of a callable(request) returning the claims"),
    Rule("token_route", lambda c: _set(c, "token_route") and not c.can_issue,
         "needs a signing key but the config has only a public key",
         "set private_key_file, or remove token_route"),
)


# -- the parser ------------------------------------------------------------------------


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
            close = difflib.get_close_matches(str(key), _BY_KEY, n=1)
            raise setting_error(name, str(key), "is not a known setting",
                                f"did you mean {PREFIX}{name}.{close[0]}?" if close else
                                "see the settings reference for the known keys")
    values: dict[str, Any] = {}
    for s in SETTINGS:
        value = raw.get(s.key)
        if isinstance(value, str) and not value.strip():
            value = None
        try:
            converted = None if value is None else s.convert(value)
        except Invalid as exc:
            raise setting_error(name, s.key, exc.problem, exc.fix) from None
        if converted is None:
            if s.required:
                fix = s.convert.fix if isinstance(s.convert, Choice) else "set it"
                if s.key == "expires_in":
                    fix = ("set it to the lifetime in seconds of the tokens the config issues (or, "
                           "for a config that only verifies, of those it accepts: revoked tokens "
                           "and ended sessions are remembered that long), e.g. 3600")
                raise setting_error(name, s.key, "is required", fix)
            converted = s.default
        values[s.key] = converted
    config = JWTConfig(name=name, **values)
    for rule in RULES:
        if rule.broken(config):
            fields = {"alg": config.algorithm, "p": f"{PREFIX}{name}."}
            raise setting_error(name, rule.key, rule.problem.format(**fields),
                                rule.fix.format(**fields))
    if config.secret is not None:
        problem = hmac_secret_problem(config.algorithm, config.secret.encode("utf-8"))
        if problem is not None:
            raise setting_error(name, "secret", *problem)
    return config


def configs_from_settings(settings: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Group ``jwt.<name>.<key>`` settings under the names listed in ``jwt.configs``.

    Returns ``{}`` when no ``jwt.`` setting is present at all.
    """
    own = {k: v for k, v in settings.items() if isinstance(k, str) and k.startswith(PREFIX)}
    for key in own:
        if "." not in key[len(PREFIX):] and key not in _GLOBAL_KEYS:
            close = difflib.get_close_matches(key, _GLOBAL_KEYS, n=1, cutoff=0.7)
            raise ConfigurationError(
                f"{key} is not a setting of pyramid_jwtnode. Fix: "
                + (f"did you mean {close[0]}?" if close else
                   f"the keys directly under {PREFIX} are {', '.join(sorted(_GLOBAL_KEYS))}; "
                   f"a config's settings are named {PREFIX}<config>.<key>.")
            )
    names = Words()(own.pop(CONFIGS_KEY)) if CONFIGS_KEY in own else None
    own = {k: v for k, v in own.items() if k not in _GLOBAL_KEYS}
    if names is None:
        if own:
            first = sorted(own)[0]
            raise ConfigurationError(
                f"{first} is set but {CONFIGS_KEY} is missing. Fix: list the config names, "
                f"e.g. '{CONFIGS_KEY} = {first.split('.')[1]}'."
            )
        return {}
    if not names:
        raise ConfigurationError(
            f"{CONFIGS_KEY} is empty. Fix: list at least one config name, e.g. "
            f"'{CONFIGS_KEY} = main', then set {PREFIX}main.algorithm and the rest."
        )
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise ConfigurationError(f"{CONFIGS_KEY} lists '{twice}' twice. Fix: list each name once.")
    grouped: dict[str, dict[str, Any]] = {config_name: {} for config_name in names}
    for full_key, value in own.items():
        config_name, _, key = full_key[len(PREFIX):].partition(".")
        if not key:
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


def clock_from_settings(settings: Mapping[str, Any]) -> Callable[[], float] | None:
    """The ``jwt.clock`` for tests, if set (pure: a dotted name is imported, never called)."""
    value = settings.get(CLOCK_KEY)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return Dotted("give a callable returning the time, e.g. pyramid_jwtnode.tools.testing.Clock(...)")(value)
    except Invalid as exc:
        raise ConfigurationError(f"{CLOCK_KEY} {exc.problem}. Fix: {_sentence(exc.fix)}") from None


@dataclasses.dataclass(frozen=True)
class MetricsSettings:
    """What ``jwt.metrics``, ``jwt.metrics_route`` and ``jwt.metrics_token_env`` ask for."""

    route: str | None = None
    token_env: str | None = None


_ENV_NAME: Final = Text(r"[A-Za-z_][A-Za-z0-9_]*", "must be the name of an environment variable",
                        "give e.g. METRICS_TOKEN")


def metrics_from_settings(settings: Mapping[str, Any]) -> MetricsSettings | None:
    """The metrics the settings ask for, or ``None`` when they ask for none (pure)."""
    values: dict[str, Any] = {}
    for key, convert in ((METRICS_KEY, Flag()), (METRICS_ROUTE_KEY, _ROUTE), (METRICS_TOKEN_ENV_KEY, _ENV_NAME)):
        raw = settings.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            values[key] = convert(raw)
        except Invalid as exc:
            raise ConfigurationError(f"{key} {exc.problem}. Fix: {_sentence(exc.fix)}") from None
    route, token_env = values.get(METRICS_ROUTE_KEY), values.get(METRICS_TOKEN_ENV_KEY)
    on = values.get(METRICS_KEY)
    if on is False and (route or token_env):
        raise ConfigurationError(
            f"{METRICS_KEY} = false, but {METRICS_ROUTE_KEY if route else METRICS_TOKEN_ENV_KEY} is set. "
            f"Fix: remove {METRICS_KEY} (the route turns metrics on), or the route's settings.")
    if token_env and not route:
        raise ConfigurationError(
            f"{METRICS_TOKEN_ENV_KEY} is set but {METRICS_ROUTE_KEY} is not, so nothing would be "
            f"guarded. Fix: set {METRICS_ROUTE_KEY} = /metrics, or remove {METRICS_TOKEN_ENV_KEY}.")
    if not (on or route):
        return None
    return MetricsSettings(route, token_env)


def security_policy_from_settings(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """The configs named by ``jwt.security_policy``, in order (pure; empty when unset)."""
    value = settings.get(SECURITY_POLICY_KEY)
    try:
        names = Words()(value) if value is not None else ()
    except Invalid as exc:
        raise ConfigurationError(f"{SECURITY_POLICY_KEY} {exc.problem}. Fix: {_sentence(exc.fix)}") from None
    for name in names:
        if "," in name:
            raise ConfigurationError(
                f"{SECURITY_POLICY_KEY} = {value} separates names with commas. Fix: separate the "
                f"config names with spaces, e.g. {SECURITY_POLICY_KEY} = {' '.join(name.split(','))}."
            )
        if not _NAME_RE.fullmatch(name):
            raise ConfigurationError(
                f"{SECURITY_POLICY_KEY} names {name!r}, which is not a config name. Fix: name "
                f"configs from {CONFIGS_KEY}."
            )
    if len(set(names)) != len(names):
        raise ConfigurationError(f"{SECURITY_POLICY_KEY} names a config twice. Fix: name each once.")
    return names
