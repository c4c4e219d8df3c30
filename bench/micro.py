"""In-process microbenchmark: the add-on's objects against raw PyJWT with the same keys,
what bearer-token verification adds to a request, and what revocation adds to that
(in-memory store, and a local Redis when redis-server is installed).

    python bench/micro.py            # writes bench/results/micro-<date>.md

Figures are the best of several timeit repeats (microseconds per call).
"""

from __future__ import annotations

import datetime
import itertools
import json
import platform
import shutil
import socket
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
from webob import Request

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps  # noqa: E402

from pyramid_jwtnode import Issuer, Verifier, load_keys, parse_config  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def best(fn: Callable[[], Any], number: int, repeat: int = 7) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def objects(algorithm: str) -> dict[str, float]:
    key: dict[str, Any] = ({"secret": apps.SECRET} if algorithm.startswith("HS")
                           else {"private_key_file": str(apps.key_file(algorithm))})
    config = parse_config("b", {"algorithm": algorithm, "expires_in": 600, "jti": False,
                                "claims_key": "data", **key})
    keys = load_keys(config)
    issuer, verifier = Issuer(config, keys), Verifier(config, keys)
    signing = apps.signing_key(algorithm)
    public = signing if algorithm.startswith("HS") else signing.public_key()
    token = issuer.issue(apps.PAYLOAD).token

    def raw_issue() -> str:
        now = int(time.time())
        return jwt.encode({"data": apps.PAYLOAD, "iat": now, "exp": now + 600}, signing, algorithm=algorithm)

    def verify_first_time() -> Any:
        verifier._verified.clear()  # as for a token this process has not seen yet
        return verifier.verify(token)

    n = 20000 if algorithm.startswith("HS") else 500
    return {
        "issue_addon_us": best(lambda: issuer.issue(apps.PAYLOAD), n),
        "issue_pyjwt_us": best(raw_issue, n),
        "verify_addon_first_us": best(verify_first_time, n),
        "verify_addon_again_us": best(lambda: verifier.verify(token), n),
        "verify_pyjwt_us": best(lambda: jwt.decode(token, public, algorithms=[algorithm]), n),
    }


def _protected_vs_open(app: Any, token: str) -> tuple[float, float]:
    env_open = Request.blank("/open", headers={"Authorization": f"Bearer {token}"}).environ
    env_protected = Request.blank("/protected", headers={"Authorization": f"Bearer {token}"}).environ
    pairs = []
    for _ in range(15):
        a = best(lambda: app(dict(env_open), lambda s, h, e=None: None), 1000, 3)
        b = best(lambda: app(dict(env_protected), lambda s, h, e=None: None), 1000, 3)
        pairs.append((a, b))
    pairs.sort(key=lambda d: d[1] - d[0])
    return pairs[len(pairs) // 2]


def revocation() -> dict[str, float]:
    """The protected route with revocation off, on an in-memory store, and on a local Redis."""
    token = apps.bearer_token()
    figures: dict[str, float] = {}
    stores: list[tuple[str, str | None]] = [("off", None), ("memory", "memory")]
    redis_server = shutil.which("redis-server")
    server = None
    if redis_server:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = subprocess.Popen([redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        stores.append(("redis", f"redis://127.0.0.1:{port}/0"))
    else:
        print("redis-server not installed: the Redis figure is skipped", file=sys.stderr)
    try:
        env = Request.blank("/protected", headers={"Authorization": f"Bearer {token}"}).environ
        plain = apps.guarded(None)
        for name, url in stores[1:]:
            app = apps.guarded(url)
            pairs = []
            for _ in range(15):  # back to back, so that drifts of the machine cancel
                off = best(lambda: plain(dict(env), lambda s, h, e=None: None), 1000, 3)
                on = best(lambda app=app: app(dict(env), lambda s, h, e=None: None), 1000, 3)
                pairs.append((off, on))
            pairs.sort(key=lambda d: d[1] - d[0])
            off, on = pairs[len(pairs) // 2]
            figures[f"protected_route_without_revocation_paired_with_{name}_us"] = off
            figures[f"protected_route_revocation_{name}_us"] = on
            figures[f"revocation_{name}_adds_us"] = on - off
    finally:
        if server is not None:
            server.terminate()
            server.wait()
    return figures


def _paired(a: Any, b: Any, environs: list[dict[str, Any]], rounds: int = 15, n: int = 300
            ) -> tuple[float, float]:
    """Median pair of per-request µs for apps ``a`` and ``b`` over ``environs`` (cycled),
    measured back to back so that drifts of the machine cancel."""
    pairs = []
    cycles = {id(app): itertools.cycle(environs) for app in (a, b)}  # new tokens stay new across rounds
    for _ in range(rounds):
        times = []
        for app in (a, b):
            cycle = cycles[id(app)]
            times.append(best(lambda app=app, cycle=cycle: app(dict(next(cycle)), lambda s, h, e=None: None),
                              n, 3))
        pairs.append((times[0], times[1]))
    pairs.sort(key=lambda d: d[1] / d[0])
    return pairs[len(pairs) // 2]


def issuers() -> dict[str, float]:
    """The protected route: one local RS256 config, against three configs on the policy with the
    token from a warm remote key set (the same RS256 key), for tokens seen before and new ones."""
    import http.server
    import tempfile
    import threading

    directory = tempfile.mkdtemp()
    Path(directory, "jwks.json").write_text(json.dumps(apps.rs256_jwks()))
    handler_class: Any = type("Quiet", (http.server.SimpleHTTPRequestHandler,),
                              {"log_message": lambda *a: None})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: handler_class(*a, directory=directory))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        one = apps.one_rs256()
        three = apps.three_issuers(f"http://127.0.0.1:{server.server_address[1]}/jwks.json")
        seen = [Request.blank("/protected", headers={"Authorization": f"Bearer {t}"}).environ
                for t in apps.rs256_tokens(1)]
        new = [Request.blank("/protected", headers={"Authorization": f"Bearer {t}"}).environ
               for t in apps.rs256_tokens(2500)]  # more than the verifier remembers (1024)
        for app in (one, three):  # warm: the remote set is fetched here, once
            assert app(dict(seen[0]), lambda s, h, e=None: None) == [b'{"ok":true}']
        figures: dict[str, float] = {}
        for label, environs in (("seen", seen), ("new", new)):
            a, b = _paired(one, three, environs, n=2000 if label == "seen" else 300)
            figures[f"one_local_config_token_{label}_us"] = a
            figures[f"three_configs_remote_token_{label}_us"] = b
            figures[f"three_vs_one_{label}_ratio"] = b / a
    finally:
        server.shutdown()
    return figures


def requests() -> dict[str, float]:
    """Whole WSGI requests in-process: the token route three ways, and the policy's cost."""
    figures: dict[str, float] = {}
    for algorithm in ("HS256", "RS256"):
        n = 3000 if algorithm == "HS256" else 300
        for name, factory in apps.APPS.items():
            app = factory(algorithm)
            environ = Request.blank("/jwt/generate").environ
            figures[f"token_route_{algorithm}_{name}_us"] = best(
                lambda app=app, environ=environ: app(dict(environ), lambda s, h, e=None: None), n)
    middle = _protected_vs_open(apps.guarded(), apps.bearer_token())
    figures["open_route_us"] = middle[0]
    figures["protected_route_us"] = middle[1]
    figures["verification_adds_us"] = middle[1] - middle[0]
    return figures


def main() -> int:
    result: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpu": _cpu()},
    }
    for algorithm in ("HS256", "RS256", "ES256", "EdDSA"):
        result[algorithm] = {k: round(v, 2) for k, v in objects(algorithm).items()}
    result["requests"] = {k: round(v, 2) for k, v in requests().items()}
    result["revocation"] = {k: round(v, 2) for k, v in revocation().items()}
    result["issuers"] = {k: round(v, 3 if k.endswith("ratio") else 2) for k, v in issuers().items()}
    r = result["requests"]
    for algorithm in ("HS256", "RS256"):
        result["requests"][f"token_route_{algorithm}_addon_vs_handwritten_throughput"] = round(
            r[f"token_route_{algorithm}_handwritten_us"] / r[f"token_route_{algorithm}_addon_us"], 3)
    out = RESULTS / f"micro-{datetime.date.today().isoformat()}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# In-process microbenchmark {result['date']}", "",
             f"{result['machine']['cpu']}, Python {result['machine']['python']}, {result['machine']['platform']}.",
             "", "| algorithm | issue: add-on | issue: PyJWT | verify: add-on, new token | "
             "verify: add-on, token seen before | verify: PyJWT |",
             "|---|---|---|---|---|---|"]
    for algorithm in ("HS256", "RS256", "ES256", "EdDSA"):
        f = result[algorithm]
        lines.append(f"| {algorithm} | {f['issue_addon_us']} µs | {f['issue_pyjwt_us']} µs | "
                     f"{f['verify_addon_first_us']} µs | {f['verify_addon_again_us']} µs | "
                     f"{f['verify_pyjwt_us']} µs |")
    lines += ["", "| whole request, in-process | µs |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in r.items()]
    lines += ["", f"Verification adds **{r['verification_adds_us']} µs** per request over the same route "
              "without auth (target ≤ 25 µs).", "",
              "| protected route, revocation | µs |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in result["revocation"].items()]
    lines += ["", "| protected route, RS256: one local config vs three configs on the policy, token "
              "from a warm remote key set | µs or ratio |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in result["issuers"].items()]
    lines += ["", "```json", json.dumps(result, indent=2), "```", ""]
    out.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"written to {out}")
    return 0


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
