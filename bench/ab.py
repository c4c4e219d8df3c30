"""The verifier's hot paths on two versions of the package, side by side in one run.

    python bench/ab.py BASE_REV [LABEL]    # writes bench/results/ab-<date>[-LABEL].md

BASE_REV (a commit, e.g. the one before a change) is checked out into a temporary git
worktree; each round times the same snippet once on it and once on the working tree, in
fresh processes, alternating, so that the drifts of a shared machine fall on both alike.
The snippet uses only public names, so it runs on older versions too: signing and verifying
a new token, verifying a token seen before (HS256 and RS256 with local keys, and RS256 from a
warm remote key set), and whole requests in-process: the recipe's token route on the add-on
and on a hand-written Pyramid view, and the protected route.
"""

from __future__ import annotations

import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ROUNDS = 7

SNIPPET = r"""
import json, sys, time, timeit
sys.path.insert(0, "BENCH")
import apps
import jwt
from pyramid_jwtnode import Issuer, Verifier, load_keys, parse_config
from pyramid_jwtnode.jose.jwks import Fetched, RemoteKeySet
from pyramid_jwtnode.jose.keys import KeySet

def best(fn, number, repeat=5):
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6

out = {}
for algorithm in ("HS256", "RS256"):
    key = ({"secret": apps.SECRET} if algorithm == "HS256"
           else {"private_key_file": str(apps.key_file(algorithm))})
    config = parse_config("b", {"algorithm": algorithm, "expires_in": 600, "jti": False,
                                "claims_key": "data", **key})
    keys = load_keys(config)
    issuer, verifier = Issuer(config, keys), Verifier(config, keys)
    token = issuer.issue(apps.PAYLOAD).token
    verifier.verify(token)
    out[f"verify_seen_before_{algorithm}_local_us"] = best(lambda: verifier.verify(token), 20000)

# RS256 from a remote key set that is fresh (fetched once, before timing)
jwks = apps.rs256_jwks()
remote_config = parse_config("r", {"algorithm": "RS256", "expires_in": 600, "issuer": "https://idp.example",
                                   "jwks_url": "https://idp.example/jwks"})
remote = RemoteKeySet("RS256", url="https://idp.example/jwks", issuer="https://idp.example", ttl=3600,
                      fetch=lambda url, timeout: Fetched(jwks, None))
verifier = Verifier(remote_config, KeySet("RS256", None, None, {}, remote=remote))
token = apps.rs256_tokens(1)[0]
verifier.verify(token)
out["verify_seen_before_RS256_remote_us"] = best(lambda: verifier.verify(token), 20000)

# whole WSGI requests in-process: the recipe's token route on the add-on, a hand-written
# Pyramid view doing the same, and the protected route with a bearer token
from webob import Request
environ = Request.blank("/jwt/generate").environ
for name in ("addon", "handwritten"):
    app = apps.APPS[name]("HS256")
    out[f"token_route_{name}_us"] = best(lambda: app(dict(environ), lambda s, h, e=None: None), 3000)
guarded = apps.guarded()
protected = Request.blank("/protected", headers={"Authorization": f"Bearer {apps.bearer_token()}"}).environ
out["protected_route_us"] = best(lambda: guarded(dict(protected), lambda s, h, e=None: None), 3000)
print(json.dumps(out))
"""


def run(tree: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    code = SNIPPET.replace("BENCH", str(tree / "bench"))
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tree, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the snippet failed on {tree}:\n{done.stderr}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    base_rev = sys.argv[1]
    label = f"-{sys.argv[2]}" if len(sys.argv) == 3 else ""
    base = Path(tempfile.mkdtemp()) / "base"
    subprocess.run(["git", "worktree", "add", "-q", "--detach", str(base), base_rev], cwd=ROOT, check=True)
    # the benchmark's own helpers (apps.py, keys) are the working tree's, for both sides
    (base / "bench").mkdir(exist_ok=True)
    for name in ("apps.py",):
        (base / "bench" / name).write_text((ROOT / "bench" / name).read_text())
    if not (base / "bench" / "keys").exists():
        (base / "bench" / "keys").symlink_to(ROOT / "bench" / "keys")
    try:
        figures: dict[str, dict[str, list[float]]] = {"base": {}, "change": {}}
        for _ in range(ROUNDS):
            for side, tree in (("base", base), ("change", ROOT)):
                for name, value in run(tree).items():
                    figures[side].setdefault(name, []).append(value)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=True)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    lines = [f"# Side by side: {base_rev} against the working tree (at {head})",
             "", datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
             f"{ROUNDS} alternating rounds, each in fresh processes; medians of the rounds' best timings.", "",
             "| figure | base | change | change / base |", "|---|---|---|---|"]
    for name in figures["change"]:
        if name not in figures["base"]:
            continue
        a, b = statistics.median(figures["base"][name]), statistics.median(figures["change"][name])
        lines.append(f"| {name} | {a:.2f} µs | {b:.2f} µs | {b / a:.3f} |")
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"ab-{datetime.date.today().isoformat()}{label}.md"
    path.write_text(text)
    print(text)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
