"""What Prometheus metrics cost a request, in-process: the token route and a protected view,
metrics off against on, measured back to back (A B A B) so that the machine's drifts cancel.

    python bench/metrics_cost.py          # writes bench/results/metrics-cost-<date>.md

Run once as is and once in prometheus_client's multiprocess mode (a child process with
PROMETHEUS_MULTIPROC_DIR set, as under a server with several workers). Times are the thread's
CPU time (``time.thread_time``), not the wall clock: other processes on a busy machine do not
count. bench/compare.py measures the same pairs over HTTP.
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

from webob import Request

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import apps  # noqa: E402
from micro import _cpu  # noqa: E402

RESULTS = BENCH / "results"


def _cpu_us(app: Any, environs: Any, n: int) -> float:
    """The best of three: CPU µs per request of ``app``."""
    timer = timeit.Timer(lambda: app(dict(next(environs)), lambda s, h, e=None: None), timer=time.thread_time)
    return min(timer.repeat(repeat=3, number=n)) / n * 1e6


def _paired(off: Any, on: Any, environs: list[dict[str, Any]], rounds: int, n: int) -> tuple[float, float]:
    """The median round (by ratio) of ``off`` and ``on`` measured back to back."""
    cycle = itertools.cycle(environs)
    pairs = sorted(((_cpu_us(off, cycle, n), _cpu_us(on, cycle, n)) for _ in range(rounds)),
                   key=lambda pair: pair[1] / pair[0])
    return pairs[len(pairs) // 2]


def _per_event() -> dict[str, float]:
    """CPU µs of the meter's calls themselves: what a verification and an issued token add."""
    from pyramid_jwtnode.integration.metrics import PrometheusMeter

    meter = PrometheusMeter()
    calls = {"meter_verified_us": lambda: meter.verified("api", "ok", 0.0001),
             "meter_issued_us": lambda: meter.issued("api", "access")}
    return {name: round(min(timeit.repeat(call, number=100_000, repeat=5, timer=time.thread_time)) / 100_000 * 1e6, 2)
            for name, call in calls.items()}


def measure() -> dict[str, float]:
    """Per-request µs of each pair, metrics off / on, and their throughput ratio (on / off)."""
    token = apps.bearer_token()
    pairs = {
        "token_route": (apps.addon("HS256"), apps.addon("HS256", metrics=True),
                        [Request.blank("/jwt/generate").environ]),
        "protected_route": (apps.guarded(), apps.guarded(metrics=True),
                            [Request.blank("/protected", headers={"Authorization": f"Bearer {token}"}).environ]),
    }
    figures: dict[str, float] = _per_event()
    for name, (off, on, environs) in pairs.items():
        for app in (off, on):  # warm
            app(dict(environs[0]), lambda s, h, e=None: None)
        a, b = _paired(off, on, environs, rounds=21, n=2000)
        figures[f"{name}_off_us"] = round(a, 2)
        figures[f"{name}_on_us"] = round(b, 2)
        figures[f"{name}_adds_us"] = round(b - a, 2)
        figures[f"{name}_on_vs_off_throughput"] = round(a / b, 3)
    return figures


def main() -> int:
    if "--child" in sys.argv:
        print(json.dumps(measure()))
        return 0
    result: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpu": _cpu()},
        "one process": measure(),
    }
    with tempfile.TemporaryDirectory() as directory:
        child = subprocess.run([sys.executable, __file__, "--child"], capture_output=True, text=True, check=True,
                               env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory})
    result["multiprocess mode"] = json.loads(child.stdout)
    lines = [f"# Metrics cost, in-process {result['date']}", "",
             f"{result['machine']['cpu']}, Python {result['machine']['python']}, {result['machine']['platform']}.",
             "", "Whole WSGI requests, metrics off against on, measured back to back in 21 rounds (the "
             "median round by ratio); µs per request (below, the meter's calls alone)."]
    lines += ["", "The meter's own calls, µs of CPU each (no request around them):", "",
              "| mode | a verification (counter and histogram) | an issued token (counter) |", "|---|---|---|"]
    for mode in ("one process", "multiprocess mode"):
        f = result[mode]
        lines.append(f"| {mode} | {f['meter_verified_us']} | {f['meter_issued_us']} |")
    lines += ["", "| mode | route | off µs | on µs | added µs | throughput on / off |", "|---|---|---|---|---|---|"]
    for mode in ("one process", "multiprocess mode"):
        f = result[mode]
        for route in ("token_route", "protected_route"):
            lines.append(f"| {mode} | {route.replace('_', ' ')} | {f[f'{route}_off_us']} | {f[f'{route}_on_us']} | "
                         f"{f[f'{route}_adds_us']} | {f[f'{route}_on_vs_off_throughput']} |")
    lines += ["", "```json", json.dumps(result, indent=2), "```", ""]
    out = RESULTS / f"metrics-cost-{datetime.date.today().isoformat()}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
