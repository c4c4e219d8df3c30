"""Serving on granian: a native (Rust) HTTP core in front of the WSGI app, the production
choice (the docs' chapter "Performance and deployment" has the measurements).

One call serves an app's ini file the way ``example_app/serve`` does::

    from pyramid_jwtnode.tools.granian import serve

    serve("production.ini")       # HOST, PORT, WEB_CONCURRENCY from the environment

granian parses HTTP in Rust and holds slow clients in its event loop: a request reaches a
Python worker once its headers are in, so clients that dribble their headers hold no worker
and no buffering proxy is needed for them (a request *body* is streamed to the app as it
reads it: see the docs). Each worker runs the app on one blocking thread
(``blocking_threads=1``, a single-threaded runtime, HTTP/1.1): measured the fastest for this
app on small machines. The app is loaded once, in the main process, before the workers are
forked (a mistake in the ini file stops it before any worker starts, and the workers share
the loaded code's memory); ``SIGHUP`` loads the ini file again there and respawns the
workers without closing the port (a file that no longer loads is logged, and the workers
keep the app they had); ``SIGTERM``/``SIGINT`` stop it gracefully (requests under way
finish). Every log line passes through :func:`pyramid_jwtnode.tools.deploy.redact`; the
access log is :class:`~pyramid_jwtnode.tools.deploy.AccessLog` around the app
(``ACCESS_LOG=0`` turns it off), several times cheaper than granian's own.

Needs granian (``pip install "pyramid_jwtnode[granian]"``); nothing else in the package
imports this module.
"""

from __future__ import annotations

import gc
import logging
import logging.config
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from ..integration.interfaces import IJWTMeter
from .deploy import AccessLog, bind_address, worker_count

__all__ = ["serve", "server_options", "access_log", "logging_config", "load_app", "app_from_environ",
           "INI_ENV"]

#: The environment variable that tells the workers which ini file to load.
INI_ENV = "PYRAMID_JWTNODE_INI"
_REDACTING = "pyramid_jwtnode.tools.deploy.RedactingFormatter"
_LOG = logging.getLogger(__name__)
# The app the main process loaded (serve): forked workers inherit it.
_loaded: Any = None
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


def load_app(ini: str | Path) -> Any:
    """The WSGI app of ``ini``'s ``[app:main]``, inside the access log unless ``ACCESS_LOG=0``."""
    from pyramid.paster import get_app

    app = get_app(str(ini), "main")
    return AccessLog(app) if access_log() else app


def app_from_environ() -> Any:
    """The app each worker serves (granian calls it in the worker): the one the main process
    loaded before forking it, else (a worker that was not forked) the ini file
    :data:`INI_ENV` names, loaded here."""
    if _loaded is not None:
        return _loaded
    ini = os.environ.get(INI_ENV)
    if not ini:
        raise RuntimeError(f"{INI_ENV} names no ini file: start the server with serve(ini)")
    return load_app(ini)


def _preload(ini: Path) -> None:
    """Load the app in the main process, then freeze what is loaded (``gc.freeze``) so that the
    workers' garbage collector never writes to the pages they share with it."""
    global _loaded
    app = load_app(ini)  # raises, leaving the app loaded before (if any) in place
    gc.unfreeze()
    _loaded = app
    gc.collect()
    gc.freeze()


def _try_preload(ini: Path, failed: str) -> bool:
    """:func:`_preload`, or the reason it failed logged (redacted) after ``failed``: the
    message of a configuration error, the traceback of anything else."""
    from pyramid.exceptions import ConfigurationError

    try:
        _preload(ini)
    except ConfigurationError as exc:
        _LOG.error("%s %s: %s", ini, failed, exc)
    except Exception:
        _LOG.exception("%s %s", ini, failed)
    else:
        return True
    return False


def _reload(ini: Path) -> None:
    """On ``SIGHUP``, before granian respawns the workers: load the ini file again."""
    if _try_preload(ini, "could not be loaded again: the workers keep serving the app loaded before"):
        _LOG.info("%s loaded again: the workers respawned now serve it", ini)


def serve(ini: str | Path, environ: Mapping[str, str] | None = None, **options: Any) -> None:
    """Serve the app of ``ini`` on granian until a signal stops it; exit with status 1, the
    error logged, when the ini file cannot be loaded. ``options`` are passed to
    :class:`granian.Granian` over the ones chosen here (``blocking_threads=4``, say)."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, RuntimeModes

    chosen: dict[str, Any] = {
        "factory": True,
        "interface": Interfaces.WSGI,
        "http": HTTPModes.http1,
        "runtime_mode": RuntimeModes.st,
        "blocking_threads": 1,
        "log_dictconfig": logging_config(),
        "respawn_failed_workers": True,
        "workers_kill_timeout": 30,  # a worker that has not stopped 30 s after TERM is killed
        "websockets": False,
        **server_options(environ),
        **options,
    }
    path = Path(ini).resolve()
    os.environ[INI_ENV] = str(path)  # for workers that are not forked (another start method)
    logging.config.dictConfig(chosen["log_dictconfig"])  # loading the app may log: redacted too
    made = _metrics_directory(path, chosen["workers"])  # before prometheus_client is imported
    try:
        if not _try_preload(path, "could not be loaded: not serving"):  # before any worker starts
            raise SystemExit(1)
        _warn_single_process_metrics(chosen["workers"])
        server: Any = Granian("pyramid_jwtnode.tools.granian:app_from_environ", **chosen)  # incomplete types
        server.on_reload(lambda: _reload(path))
        server.serve()
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


#: prometheus_client's multiprocess directory variable (and the older, lower-case spelling).
_MULTIPROC: Final = ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")


def _metrics_directory(ini: Path, workers: int) -> str | None:
    """With several workers, and an ini file whose settings ask for metrics (``jwt.metrics``,
    ``jwt.metrics_route``), a fresh, empty directory for prometheus_client's multiprocess mode
    when ``PROMETHEUS_MULTIPROC_DIR`` is unset: set it, and return it (removed at the end)."""
    if workers < 2 or any(os.environ.get(name) for name in _MULTIPROC) or "prometheus_client" in sys.modules:
        return None
    from pyramid.paster import get_appsettings

    from ..integration.settings import metrics_from_settings

    try:
        wanted = metrics_from_settings(get_appsettings(str(ini), "main")) is not None
    except Exception:  # noqa: BLE001 - loading the app reports what is wrong with the file
        return None
    if not wanted:
        return None
    directory = tempfile.mkdtemp(prefix="pyramid_jwtnode-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory  # the workers inherit it
    _LOG.info("metrics of %d workers are added up in %s (PROMETHEUS_MULTIPROC_DIR)", workers, directory)
    return directory


def _warn_single_process_metrics(workers: int) -> None:
    """Warn when the loaded app counts metrics in one process's memory under several workers:
    each scrape would see the counts of whichever worker answered it."""
    registry = getattr(getattr(_loaded, "app", _loaded), "registry", None)
    if workers < 2 or registry is None or registry.queryUtility(IJWTMeter) is None:
        return
    if not any(os.environ.get(name) for name in _MULTIPROC):
        _LOG.warning("the app counts metrics, but %d workers run without PROMETHEUS_MULTIPROC_DIR: "
                     "each scrape shows one worker's counts. Fix: set PROMETHEUS_MULTIPROC_DIR to an "
                     "empty directory before starting", workers)
