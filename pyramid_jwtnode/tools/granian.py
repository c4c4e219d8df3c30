"""Serving on granian: a native (Rust) HTTP core in front of the WSGI app, the production
choice (the docs' chapter "Performance and deployment" has the measurements).

One call serves an app's ini file the way ``example_app/serve`` does::

    from pyramid_jwtnode.tools.granian import serve

    serve("production.ini")       # HOST, PORT, WEB_CONCURRENCY from the environment

granian parses HTTP in Rust and holds slow clients in its event loop, so the Python workers
only ever see whole requests: no buffering proxy is needed in front. Each worker runs the
app on one blocking thread (``--blocking-threads 1``, a single-threaded runtime, HTTP/1.1):
measured the fastest for this app on small machines. ``SIGTERM``/``SIGINT`` stop it
gracefully (requests under way finish); ``SIGHUP`` respawns the workers without closing the
port. Every log line passes through :func:`pyramid_jwtnode.tools.deploy.redact`; the access
log is :class:`~pyramid_jwtnode.tools.deploy.AccessLog` around the app (``ACCESS_LOG=0`` turns
it off), several times cheaper than granian's own.

Needs granian (``pip install "pyramid_jwtnode[granian]"``); nothing else in the package
imports this module.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .deploy import AccessLog, bind_address, worker_count

__all__ = ["serve", "server_options", "access_log", "logging_config", "app_from_environ", "INI_ENV"]

#: The environment variable that tells the workers which ini file to load.
INI_ENV = "PYRAMID_JWTNODE_INI"
_REDACTING = "pyramid_jwtnode.tools.deploy.RedactingFormatter"
_FLAGS = {"1": True, "true": True, "on": True, "yes": True, "0": False, "false": False, "off": False, "no": False}


def logging_config() -> dict[str, Any]:
    """granian's logging (``log_dictconfig``): its own log and the access log on standard
    output, the app's loggers too, every line through the redacting formatter."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "generic": {"()": _REDACTING, "fmt": "[%(levelname)s] %(name)s: %(message)s"},
            "access": {"()": _REDACTING, "fmt": "%(message)s"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "generic", "stream": "ext://sys.stdout"},
            "access": {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "_granian": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "granian.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
        "root": {"handlers": ["console"], "level": "INFO"},
    }


def server_options(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """granian's options from the environment: ``HOST``/``PORT`` (default ``0.0.0.0:6543``)
    and ``WEB_CONCURRENCY`` (default one worker per CPU the process may use, capped by a cgroup
    quota), each checked with a message that says what to set; ``ACCESS_LOG`` is checked too."""
    env = os.environ if environ is None else environ
    host, _, port = bind_address(env).rpartition(":")
    access_log(env)  # checked now, in the main process: a bad value stops start-up
    return {"address": host.strip("[]"), "port": int(port), "workers": worker_count(env)}


def access_log(environ: Mapping[str, str] | None = None) -> bool:
    """``ACCESS_LOG``: on unless it says ``0``/``false``/``off``/``no``."""
    env = os.environ if environ is None else environ
    value = (env.get("ACCESS_LOG") or "1").strip().lower()
    if value not in _FLAGS:
        raise ValueError(f"ACCESS_LOG={env.get('ACCESS_LOG')!r} is neither on nor off: set it to 1 "
                         "(the default: an access log, every line redacted) or 0 (none)")
    return _FLAGS[value]


def app_from_environ() -> Any:
    """The WSGI app of the ini file :data:`INI_ENV` names (the factory each worker calls)."""
    from pyramid.paster import get_app

    ini = os.environ.get(INI_ENV)
    if not ini:
        raise RuntimeError(f"{INI_ENV} names no ini file: start the server with serve(ini)")
    app = get_app(ini, "main")
    return AccessLog(app) if access_log() else app


def serve(ini: str | Path, environ: Mapping[str, str] | None = None) -> None:
    """Serve the app of ``ini`` on granian until a signal stops it."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, RuntimeModes

    options = server_options(environ)
    os.environ[INI_ENV] = str(Path(ini).resolve())  # the workers inherit it
    server: Any = Granian(  # granian's own types are not complete
        "pyramid_jwtnode.tools.granian:app_from_environ",
        factory=True,
        interface=Interfaces.WSGI,
        http=HTTPModes.http1,
        runtime_mode=RuntimeModes.st,
        blocking_threads=1,
        log_dictconfig=logging_config(),
        respawn_failed_workers=True,
        workers_kill_timeout=30,  # a worker that has not stopped 30 s after TERM is killed
        websockets=False,
        **options,
    )
    server.serve()
