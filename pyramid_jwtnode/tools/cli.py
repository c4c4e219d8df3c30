"""``pjwt``: list, mint and verify tokens with an app's own configuration; make keys.

    pjwt configs development.ini              each config: algorithm, lifetime, kids, routes
    pjwt mint development.ini --config NAME --claim sub=alice --claim 'roles=["admin"]'
    pjwt verify development.ini --config NAME TOKEN     (or the token on standard input)
    pjwt revoke development.ini --config NAME --sub USERID    every token of that user, now
    pjwt revoke development.ini TOKEN                       one token (and its refresh family)
    pjwt keygen --algorithm ES256 --out keys/ --name partners
    pjwt import-flow flows.json --out migrated/    a recipe-system flow as jwt.* lines

The ini file is loaded as ``pserve`` loads it (plaster: ``file.ini#section``,
``%(here)s``), and the app is built, so configs declared in code count too.
Nothing it prints contains a secret or key material, except the token ``mint``
was asked for. Exit status: 0 done, 1 token refused (or nothing revoked), 2 bad input or
configuration, 3 a store or key set could not be reached, 141 standard output closed early.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from pyramid.exceptions import ConfigurationConflictError, ConfigurationError
from pyramid.interfaces import ISecurityPolicy
from pyramid.paster import bootstrap
from pyramid.registry import Registry

from ..exceptions import InvalidTokenError, IssueError, KeySetUnavailableError, StoreUnavailableError
from ..flowimport.flow import INI_FILE, MODULE_FILE, FlowError, parse_flow, translate
from ..integration.interfaces import IJWTRuntimes
from ..integration.policy import JWTSecurityPolicy
from ..integration.runtime import JWTRuntime, get_jwt_runtime
from ..jose.algorithms import ALGORITHMS, RSA_NEW_KEY_BITS, is_hmac
from ..jose.claims import userid_of
from ..jose.limits import RESERVED_CLAIMS
from .explain import explain
from .keygen import generate

__all__ = ["main"]


class UsageError(Exception):
    """Bad input: printed as ``pjwt: <message>``, exit status 2."""


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The ``pjwt`` parser (for help) and each command's own parser (for parsing)."""
    parser = argparse.ArgumentParser(
        prog="pjwt", description="Mint, verify and explain JWTs with a Pyramid app's own configuration.",
        epilog="Exit status: 0 done, 1 token refused (or nothing revoked), 2 bad input or "
        "configuration, 3 a revocation store or key set could not be reached, 141 standard output "
        "closed early (pjwt ... | head).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    configs = commands.add_parser("configs", help="list the app's jwt configs (no secrets)",
                                  description="List each jwt config: algorithm, lifetime, issuer, "
                                  "audience, key ids and routes. Never a secret or key material.")
    configs.add_argument("config_uri", help="the app's ini file, optionally with #section")
    configs.add_argument("--json", action="store_true", help="print JSON instead of text")

    mint = commands.add_parser("mint", help="print a token signed with a config's key",
                               description="Sign claims with a config's current key and print the token.")
    mint.add_argument("config_uri", help="the app's ini file, optionally with #section")
    mint.add_argument("--config", help="the config's name (needed when the app has several)")
    mint.add_argument("--claim", action="append", default=[], metavar="NAME=VALUE",
                      help="a claim; VALUE is read as JSON when it is JSON (42, true, [\"a\"]), "
                      "else as text; repeat for more")
    mint.add_argument("--claims-json", metavar="FILE", help="claims from a JSON file ('-' for standard input)")
    mint.add_argument("--expires-in", type=int, metavar="SECONDS", help="lifetime instead of the config's")

    verify = commands.add_parser("verify", help="verify a token; print its claims or why not",
                                 description="Verify a token as the app's security policy would: "
                                 "the config it chooses for the token, signature, claims, the "
                                 "revocation store, a user id (a config outside the policy: its own "
                                 "checks and store). Print the claims as JSON (exit 0) or the "
                                 "reason (exit 1).")
    verify.add_argument("config_uri", help="the app's ini file, optionally with #section")
    verify.add_argument("token", nargs="?", default="-", help="the token ('-' or absent: standard input)")
    verify.add_argument("--config", help="only this config (default: as the security policy "
                        "chooses; the only config when the app has one)")

    explain_ = commands.add_parser(
        "explain", help="why the app's security policy accepts or refuses a token",
        description="Explain what the app's security policy decides about a token: which config "
        "checks it and how it was chosen (kid, iss or alg), each check in order with pass or fail "
        "(size, header, algorithm, key, signature, exp/nbf/iat with the clock and leeway, iss, "
        "aud, revocation, user id), the principals it would give, and for a refusal the reason "
        "code and a one-line fix. Exit 0 when the policy accepts the token, 1 otherwise. Never "
        "prints the signature, a secret or a key.")
    explain_.add_argument("config_uri", help="the app's ini file, optionally with #section")
    explain_.add_argument("token", nargs="?", default="-", help="the token ('-' or absent: standard input)")
    explain_.add_argument("--config", help="check it with this config of the policy instead of the "
                          "one the policy would choose")

    revoke = commands.add_parser(
        "revoke", help="revoke one token, or every token of a user, in the app's revocation store",
        description="With --sub USERID: refuse every access and refresh token of that user issued "
        "until now, in every process sharing the store (request.revoke_jwt_subject does the same "
        "in a view). With TOKEN (or the token on standard input): revoke that access or refresh "
        "token and its refresh family, as the RFC 7009 endpoint does. The config needs a "
        "revocation_store.")
    revoke.add_argument("config_uri", help="the app's ini file, optionally with #section")
    revoke.add_argument("token", nargs="?", default=None, help="the token to revoke ('-': standard input)")
    revoke.add_argument("--config", help="the config's name (default: the only one, or the security "
                        "policy's)")
    revoke.add_argument("--sub", metavar="USERID", help="revoke every token of this user id instead")

    keygen = commands.add_parser("keygen", help="make a key pair (or an HS secret) for an algorithm",
                                 description="Write new key material for ALGORITHM into DIR: NAME.pem "
                                 "(private, mode 0600) and NAME.pub, or NAME.key (an HS secret, mode "
                                 "0600), and print the ini lines that use them.")
    keygen.add_argument("--algorithm", required=True, choices=ALGORITHMS, metavar="ALGORITHM",
                        help=f"one of {', '.join(ALGORITHMS)}")
    keygen.add_argument("--out", required=True, type=Path, metavar="DIR", help="directory to write into")
    keygen.add_argument("--name", default="main", help="file name stem and config name (default: main)")
    keygen.add_argument("--bits", type=int, default=RSA_NEW_KEY_BITS, help=f"RSA key size (default {RSA_NEW_KEY_BITS})")
    keygen.add_argument("--force", action="store_true", help="overwrite existing files")
    keygen.add_argument("--ini", type=Path, metavar="FILE",
                        help="the ini file the printed lines are for: paths inside its directory "
                        "are written %%(here)s/... (default: an ini file in the current directory)")

    flow = commands.add_parser(
        "import-flow", help="translate a flow of the recipe's system (Node-RED JSON) into jwt.* lines",
        description=f"Translate an exported flow (a JSON array of Node-RED nodes) into DIR/{INI_FILE}, "
        f"the jwt.* lines to paste into an app section, and DIR/{MODULE_FILE}, the payload callables "
        "they name. A secret the flow holds goes to DIR/<config>.secret (mode 0600), never into the "
        "ini lines. Prints what was mapped, what was skipped and why, and what needs a hand "
        "translation. Writes nothing when the flow is refused.")
    flow.add_argument("flow", type=Path, metavar="FLOW.json", help="the exported flow")
    flow.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                      help="directory to write into (default: the current directory)")
    flow.add_argument("--force", action="store_true", help="overwrite existing files")
    return parser, {"configs": configs, "mint": mint, "verify": verify, "explain": explain_,
                    "revoke": revoke, "keygen": keygen, "import-flow": flow}


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    """Options and positionals in any order (``pjwt verify app.ini --config api TOKEN``).

    The command's own parser reads everything after the command with
    ``parse_intermixed_args``; the main parser handles ``--help`` and unknown commands.
    """
    parser, commands = _parser()
    command = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), None)
    if command is None or argv[command] not in commands:
        return parser.parse_args(argv)  # prints usage or help, and exits
    args = commands[argv[command]].parse_intermixed_args(list(argv[command + 1:]))
    args.command = argv[command]
    return args


def main(argv: Sequence[str] | None = None, stdin: IO[str] | None = None,
         stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    """Run ``pjwt`` with ``argv``; returns the exit status."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    args = _parse(sys.argv[1:] if argv is None else argv)
    try:
        code = _run(args, stdin, stdout, stderr)
        stdout.flush()  # here, where a closed pipe can still be answered quietly
        return code
    except UsageError as exc:
        print(f"pjwt: {exc}", file=stderr)
        return 2
    except (StoreUnavailableError, KeySetUnavailableError) as exc:
        print(f"pjwt: {exc}; try again when it can be reached", file=stderr)
        return 3
    except BrokenPipeError:  # pjwt configs app.ini | head: the reader has had enough
        if stdout is sys.stdout:  # and Python must not complain when it flushes at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports a command SIGPIPE ended: never "refused" (1) or "done" (0)


def _run(args: argparse.Namespace, stdin: IO[str], stdout: IO[str], stderr: IO[str]) -> int:
    if args.command == "keygen":
        return _keygen(args, stdout)
    if args.command == "import-flow":
        return _import_flow(args, stdout)
    registry = _load(args.config_uri)
    if args.command == "configs":
        return _configs(registry, args, stdout)
    if args.command == "mint":
        return _mint(registry, args, stdin, stdout, stderr)
    if args.command == "revoke":
        return _revoke(registry, args, stdin, stdout, stderr)
    if args.command == "explain":
        return _explain(registry, args, stdin, stdout)
    return _verify(registry, args, stdin, stdout, stderr)


def _first_line(exc: BaseException) -> str:
    """An exception as one line: what Pyramid wrapped, first line only, no traceback."""
    inner = getattr(exc, "evalue", None) or exc  # ConfigurationExecutionError wraps the cause
    text = str(inner).strip().splitlines()
    if isinstance(inner, ConfigurationConflictError):
        clash = ", ".join(str(d) for d in inner._conflicts)
        return f"conflicting configuration actions for {clash}"
    return (text[0] if text else type(inner).__name__).rstrip()


def _load(config_uri: str) -> Registry:
    path = config_uri.split("#", 1)[0]
    if "://" not in path and not Path(path).is_file():
        raise UsageError(f"no ini file at {path}")
    try:
        env = bootstrap(config_uri)
    except ConfigurationError as exc:
        raise UsageError(f"the app's configuration is refused: {_first_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - the app's own start-up, reported in one line
        raise UsageError(f"the app could not start: {type(exc).__name__}: {_first_line(exc)}") from None
    try:
        registry: Registry = env["registry"]
        return registry
    finally:
        env["closer"]()


def _node(registry: Registry, name: str | None) -> JWTRuntime:
    """``--config NAME``; without it, the only config, else the security policy's."""
    try:
        return get_jwt_runtime(registry, name)
    except LookupError as exc:
        raise UsageError(f"{exc} (use --config NAME)" if name is None else str(exc)) from None


def _describe(registry: Registry, node: JWTRuntime) -> dict[str, Any]:
    facts = node.config.describe()
    facts["kid"] = node.keys.kid
    for key in [k for k in facts if k.endswith(("_route", "_route_method"))]:
        del facts[key]
    routes = []
    introspector = registry.introspector
    for kind in ("token", "refresh", "revocation", "verify", "jwks"):
        for intr in introspector.get_category(f"jwt {kind} views") or ():
            item = intr["introspectable"]
            if node.name in item["jwt_configs"]:
                routes.append(f"{kind} {item['request_method']} {item['pattern']}")
    facts["routes"] = routes
    facts["security_policy"] = any(
        node.name in item["introspectable"]["jwt_configs"]
        for item in introspector.get_category("jwt security policies") or ())
    return facts


def _location_row(facts: dict[str, Any]) -> str:
    """Where clients carry the config's tokens, with the cookies' names."""
    places = []
    for place in facts["token_location"]:
        if place == "cookie":
            name = facts["name"]
            names = [facts[f"{kind}_cookie"] or f"{name}_{kind}" for kind in ("access", "refresh", "csrf")]
            places.append(f"cookie ({', '.join(names)})")
        else:
            places.append("Authorization header")
    if facts["query_token"]:
        places.append("access_token query parameter")
    return "; ".join(places)


def _keys_row(facts: dict[str, Any]) -> str:
    """Where the config's keys come from, in one line."""
    if facts["jwks_url"] or facts["discovery_url"]:
        where = f"jwks_url {facts['jwks_url']}" if facts["jwks_url"] else (
            f"discovery_url {facts['discovery_url']}")
        return f"{where} (kept {facts['jwks_cache_ttl']} s, timeout {facts['jwks_timeout']} s)"
    return "local files or secret"


def _configs(registry: Registry, args: argparse.Namespace, stdout: IO[str]) -> int:
    nodes: dict[str, JWTRuntime] = registry.queryUtility(IJWTRuntimes) or {}
    described = [_describe(registry, node) for node in nodes.values()]  # in declaration order
    if args.json:
        print(json.dumps(described, indent=2), file=stdout)
        return 0
    for facts in described:
        print(facts["name"], file=stdout)
        rows = [
            ("algorithm", facts["algorithm"]),
            ("expires_in", f"{facts['expires_in']} s"),
            ("issuer", facts["issuer"] or "-"),
            ("audience", " ".join(facts["audience"]) or "-"),
            ("kid", facts["kid"] or "-"),
            ("previous kids", " ".join(facts["previous_keys"]) or "-"),
            ("typ", facts["typ"] or "JWT (not checked)"),
            ("claims_key", facts["claims_key"] or "-"),
            ("keys", _keys_row(facts)),
            ("carried in", _location_row(facts)),
            ("issues tokens", "yes" if facts["can_issue"] else "no (verify only)"),
            ("security policy", "yes" if facts["security_policy"] else "no"),
            ("routes", "; ".join(facts["routes"]) or "-"),
        ]
        for label, value in rows:
            print(f"  {label:<16}{value}", file=stdout)
    return 0


def _claim_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _claim_advice(node: JWTRuntime, claims: dict[str, Any], typed: dict[str, str],
                  error: IssueError) -> str:
    """What to type instead, for the claims the issuer refused."""
    if node.config.claims_key is None:
        reserved = sorted(RESERVED_CLAIMS.intersection(claims))
        if reserved:
            return (f"--claim {reserved[0]}=... is set by the config, not by hand (use "
                    "--expires-in for the lifetime)")
        if "sub" in typed and not isinstance(claims.get("sub"), str):
            return (f"--claim sub={typed['sub']} was read as JSON ({type(claims['sub']).__name__}), "
                    f"but sub must be a string (RFC 7519 §4.1.2): write --claim 'sub=\"{typed['sub']}\"'")
    return str(error)


def _mint(registry: Registry, args: argparse.Namespace, stdin: IO[str], stdout: IO[str],
          stderr: IO[str]) -> int:
    node = _node(registry, args.config)
    if node.issuer is None:
        raise UsageError(f"jwt config {node.name!r} has only a public key: it cannot issue tokens")
    claims: dict[str, Any] = {}
    typed: dict[str, str] = {}
    if args.claims_json:
        try:
            source = stdin.read() if args.claims_json == "-" else Path(args.claims_json).read_text()
            loaded = json.loads(source)
        except (OSError, ValueError) as exc:
            raise UsageError(f"--claims-json: {type(exc).__name__}: cannot read JSON claims") from None
        if not isinstance(loaded, dict):
            raise UsageError("--claims-json must hold a JSON object")
        claims.update(loaded)
    for item in args.claim:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--claim takes NAME=VALUE, got {item!r}")
        claims[name] = _claim_value(value)
        typed[name] = value
    if args.expires_in is not None and args.expires_in <= 0:
        raise UsageError("--expires-in must be a positive number of seconds")
    try:
        issued = node.issuer.issue(claims, expires_in=args.expires_in)
    except IssueError as exc:
        raise UsageError(_claim_advice(node, claims, typed, exc)) from None
    print(issued.token, file=stdout)
    userid_claim = node.config.userid_claim
    if userid_of(dict(issued.claims), tuple(userid_claim.split("."))) is None:
        top = userid_claim.split(".")[-1]
        print(f"pjwt: warning: the token names no user in its {userid_claim!r} claim, so the "
              f"security policy would refuse it (no_userid); add --claim {top}=<user id>",
              file=stderr)
    return 0


def _verify(registry: Registry, args: argparse.Namespace, stdin: IO[str], stdout: IO[str],
            stderr: IO[str]) -> int:
    """As the app's security policy checks a bearer token (the config it would choose, the
    revocation store, a user id); a config outside the policy: its verifier and its store."""
    policy = registry.queryUtility(ISecurityPolicy)
    on_policy = isinstance(policy, JWTSecurityPolicy) and (
        args.config is None or args.config in policy.configs)
    if not on_policy:
        node = _node(registry, args.config)
    token = _token_argument(args.token, stdin)
    try:
        if on_policy:
            assert isinstance(policy, JWTSecurityPolicy)
            _, claims = policy.check_token(token, args.config)
        else:
            claims = node.verifier.verify(token)
            if node.revocation is not None:
                node.revocation.check(claims)
    except InvalidTokenError as exc:
        name = exc.config or args.config or (policy.name if on_policy else node.name)
        print(f"pjwt: token refused by jwt config {name!r}: {exc.reason}", file=stderr)
        return 1
    print(json.dumps(claims, indent=2, sort_keys=True), file=stdout)
    return 0


def _explain(registry: Registry, args: argparse.Namespace, stdin: IO[str], stdout: IO[str]) -> int:
    policy = registry.queryUtility(ISecurityPolicy)
    if not isinstance(policy, JWTSecurityPolicy):
        raise UsageError("the app has no jwt security policy to explain: set jwt.security_policy "
                         "(pjwt verify checks a token with one config's rules)")
    if args.config is not None and args.config not in policy.configs:
        raise UsageError(f"jwt config {args.config!r} is not one of the policy's: {', '.join(policy.configs)}")
    explanation = explain(policy, _token_argument(args.token, stdin), args.config)
    for line in explanation.lines():
        print(line, file=stdout)
    return 0 if explanation.accepted else 1


def _token_argument(token: str | None, stdin: IO[str]) -> str:
    token = stdin.read().strip() if token in (None, "-") else token.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not token:
        raise UsageError("no token given (pass it as an argument or on standard input)")
    return token


def _revoke(registry: Registry, args: argparse.Namespace, stdin: IO[str], stdout: IO[str],
            stderr: IO[str]) -> int:
    node = _node(registry, args.config)
    if node.revocation is None:
        raise UsageError(f"jwt config {node.name!r} has no revocation store: set "
                         f"jwt.{node.name}.revocation_store")
    if node.config.revocation_store == "memory":
        raise UsageError(f"jwt config {node.name!r} keeps its revocations in memory, inside the "
                         "running app's process: revoking here would change nothing there. Use "
                         "the app's revocation route or request.revoke_jwt_subject(), or give it a "
                         f"shared store (jwt.{node.name}.revocation_store = redis://...)")
    if args.sub is not None:
        if args.token is not None:
            raise UsageError("give either --sub USERID or a TOKEN, not both")
        if not args.sub.strip():
            raise UsageError("--sub needs a user id")
        node.revocation.revoke_subject(args.sub.strip())
        print(f"revoked every token of {args.sub.strip()!r} issued until now (jwt config "
              f"{node.name!r})", file=stdout)
        return 0
    if not node.revocation.revoke_token(_token_argument(args.token, stdin)):
        print(f"pjwt: nothing revoked: the token does not verify with jwt config {node.name!r}",
              file=stderr)
        return 1
    print(f"revoked the token and its refresh family (jwt config {node.name!r})", file=stdout)
    return 0


def _write(path: Path, data: bytes, mode: int, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise UsageError(f"{path} exists; pass --force to replace it") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)


def _keygen(args: argparse.Namespace, stdout: IO[str]) -> int:
    name: str = args.name
    if not name.replace("_", "").replace("-", "").isalnum():
        raise UsageError("--name takes letters, digits, '_' and '-'")
    try:
        key = generate(args.algorithm, rsa_bits=args.bits)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    here = (args.ini.resolve().parent if args.ini is not None else Path.cwd().resolve())

    def as_written(path: Path) -> str:
        """A path as the ini file says it: %(here)s/... inside its directory, else absolute."""
        try:
            return f"%(here)s/{path.relative_to(here).as_posix()}"
        except ValueError:
            return str(path)

    prefix = f"jwt.{name}"
    lines = [f"{prefix}.algorithm = {args.algorithm}"]
    if is_hmac(args.algorithm):
        assert key.secret is not None
        secret_path = (out / f"{name}.key").resolve()
        _write(secret_path, key.secret + b"\n", 0o600, args.force)
        lines.append(f"{prefix}.secret_file = {as_written(secret_path)}")
        written = [f"{secret_path} (secret, mode 0600)"]
    else:
        assert key.private_pem is not None and key.public_pem is not None
        private_path = (out / f"{name}.pem").resolve()
        public_path = (out / f"{name}.pub").resolve()
        _write(private_path, key.private_pem, 0o600, args.force)
        _write(public_path, key.public_pem, 0o644, args.force)
        lines += [f"{prefix}.private_key_file = {as_written(private_path)}",
                  f"{prefix}.public_key_file = {as_written(public_path)}"]
        written = [f"{private_path} (private key, mode 0600)", f"{public_path} (public key)"]
    print("wrote " + "\n      ".join(written), file=stdout)
    print("\n# for the ini file (with your own expires_in):", file=stdout)
    print("\n".join(lines), file=stdout)
    return 0


def _import_flow(args: argparse.Namespace, stdout: IO[str]) -> int:
    """Translate the flow, then write every file or none, then print the report."""
    source: Path = args.flow
    try:
        result = translate(parse_flow(source.read_text(encoding="utf-8")), source=source.name)
    except (OSError, UnicodeError) as exc:
        raise UsageError(f"cannot read {source} ({type(exc).__name__})") from None
    except FlowError as exc:
        raise UsageError(f"{source}: {exc}") from None
    out: Path = args.out
    files = [(out / INI_FILE, result.ini.encode("utf-8"), 0o644),
             (out / MODULE_FILE, result.module.encode("utf-8"), 0o644),
             *((out / secret.filename, secret.data, 0o600) for secret in result.secrets)]
    for path, _, _ in files:
        if not args.force and (path.exists() or path.is_symlink()):
            raise UsageError(f"{path} exists; pass --force to replace it")
    written: list[Path] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for path, data, mode in files:
            _write(path, data, mode, args.force)
            written.append(path)
    except (OSError, UsageError) as exc:  # a file that appeared meanwhile, a full disk
        for path in [] if args.force else written:
            path.unlink()
        if isinstance(exc, UsageError):
            raise
        raise UsageError(f"cannot write into {out} ({type(exc).__name__})") from None
    print("\n".join(result.report), file=stdout)
    print("wrote " + "\n      ".join(f"{path}{' (mode 0600)' if mode == 0o600 else ''}"
                                     for path, _, mode in files), file=stdout)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
