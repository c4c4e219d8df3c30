"""The documented gunicorn settings (example_app/gunicorn.conf.py) with one change, for the
variants ``bench/deploy.py`` measures against them; not for deployment:

    BENCH_PIN_WORKERS=1   worker n runs on CPU n (by worker age: a worker that replaces a
                          dead one may share a CPU, which is fine for a benchmark)
    BENCH_NO_FREEZE=1     no gc.freeze() in the master before the workers are forked
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path
from typing import Any

globals().update({name: value for name, value in runpy.run_path(
    str(Path(__file__).resolve().parent.parent / "example_app" / "gunicorn.conf.py")).items()
    if not name.startswith("__")})

_CPUS = sorted(os.sched_getaffinity(0))

if os.environ.get("BENCH_NO_FREEZE") == "1":
    def when_ready(server: Any) -> None:
        """Nothing: the workers' collector may write to the pages they share with the master."""

if os.environ.get("BENCH_PIN_WORKERS") == "1":
    def post_fork(server: Any, worker: Any) -> None:
        os.sched_setaffinity(0, {_CPUS[(worker.age - 1) % len(_CPUS)]})
