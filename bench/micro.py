"""In-process microbenchmark: the add-on's objects against raw PyJWT with the same keys,
and what bearer-token verification adds to a request.

    python bench/micro.py            # writes bench/results/micro-<date>.md

Figures are the best of several timeit repeats (microseconds per call).
"""

from __future__ import annotations

import datetime
import json
import platform
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

    n = 20000 if algorithm.startswith("HS") else 500
    return {
        "issue_addon_us": best(lambda: issuer.issue(apps.PAYLOAD), n),
        "issue_pyjwt_us": best(raw_issue, n),
        "verify_addon_us": best(lambda: verifier.verify(token), n),
        "verify_pyjwt_us": best(lambda: jwt.decode(token, public, algorithms=[algorithm]), n),
    }


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
    guarded = apps.guarded()
    token = apps.bearer_token()
    env_open = Request.blank("/open", headers={"Authorization": f"Bearer {token}"}).environ
    env_protected = Request.blank("/protected", headers={"Authorization": f"Bearer {token}"}).environ
    diffs = []
    for _ in range(15):
        a = best(lambda: guarded(dict(env_open), lambda s, h, e=None: None), 2000, 1)
        b = best(lambda: guarded(dict(env_protected), lambda s, h, e=None: None), 2000, 1)
        diffs.append((a, b))
    diffs.sort(key=lambda d: d[1] - d[0])
    middle = diffs[len(diffs) // 2]
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
    r = result["requests"]
    for algorithm in ("HS256", "RS256"):
        result["requests"][f"token_route_{algorithm}_addon_vs_handwritten_throughput"] = round(
            r[f"token_route_{algorithm}_handwritten_us"] / r[f"token_route_{algorithm}_addon_us"], 3)
    out = RESULTS / f"micro-{datetime.date.today().isoformat()}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# In-process microbenchmark {result['date']}", "",
             f"{result['machine']['cpu']}, Python {result['machine']['python']}, {result['machine']['platform']}.",
             "", "| algorithm | issue: add-on | issue: PyJWT | verify: add-on | verify: PyJWT |",
             "|---|---|---|---|---|"]
    for algorithm in ("HS256", "RS256", "ES256", "EdDSA"):
        f = result[algorithm]
        lines.append(f"| {algorithm} | {f['issue_addon_us']} µs | {f['issue_pyjwt_us']} µs | "
                     f"{f['verify_addon_us']} µs | {f['verify_pyjwt_us']} µs |")
    lines += ["", "| whole request, in-process | µs |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in r.items()]
    lines += ["", f"Verification adds **{r['verification_adds_us']} µs** per request over the same route "
              "without auth (target ≤ 25 µs).", "", "```json", json.dumps(result, indent=2), "```", ""]
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
