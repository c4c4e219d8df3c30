"""Where a request's time goes, in-process, with the standard library's cProfile.

    python bench/hotpaths.py token        # the example's token route (HS256)
    python bench/hotpaths.py protected    # what the bearer-token policy adds over /open

``token`` lists the functions with the most own time; ``protected`` lists, function by
function, what the protected route spends beyond the same route without auth. This is
how the per-request work the docs describe (Performance and deployment) was found (and removed).
"""

from __future__ import annotations

import cProfile
import pstats
import sys
from pathlib import Path
from typing import Any

from webob import Request

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps  # noqa: E402

ROUNDS = 10000


def profile(app: Any, path: str, headers: dict[str, str]) -> dict[Any, Any]:
    environ = Request.blank(path, headers=headers).environ

    def call() -> None:
        app(dict(environ), lambda s, h, e=None: None)

    for _ in range(300):
        call()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(ROUNDS):
        call()
    profiler.disable()
    return pstats.Stats(profiler).stats  # type: ignore[attr-defined, no-any-return]


def name(key: tuple[str, int, str]) -> str:
    return f"{key[0].split('site-packages/')[-1]}:{key[1]}({key[2]})"


def main(argv: list[str]) -> int:
    which = argv[1] if len(argv) > 1 else "token"
    if which == "token":
        stats = profile(apps.addon("HS256"), "/jwt/generate", {})
        rows = sorted(((v[2], v[1], k) for k, v in stats.items()), reverse=True)[:25]
        print(f"own time per request (profiled, so inflated), {ROUNDS} requests:")
        for own, calls, key in rows:
            print(f"{own * 1e6 / ROUNDS:8.2f} us  {calls / ROUNDS:5.1f} calls  {name(key)}")
        return 0
    app = apps.guarded()
    headers = {"Authorization": f"Bearer {apps.bearer_token()}"}
    base, protected = profile(app, "/open", headers), profile(app, "/protected", headers)
    rows = []
    for key, value in protected.items():
        before = base.get(key, (0, 0, 0.0))
        rows.append((value[2] - before[2], value[1] - before[1], key))
    rows.sort(reverse=True)
    print("what /protected spends beyond /open, per request (profiled, so inflated):")
    for own, calls, key in rows[:25]:
        print(f"{own * 1e6 / ROUNDS:8.2f} us  {calls / ROUNDS:+5.1f} calls  {name(key)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
