"""gunicorn settings for serving the example app in production:

    gunicorn --paste example_app/production.ini -c example_app/gunicorn.conf.py

- one worker process per CPU this process may run on (``WEB_CONCURRENCY`` overrides), each
  serving one request at a time: a worker never shares its CPU's interpreter with a second
  thread, so Python's GIL is never handed over between threads. Measured on the 2-vCPU
  benchmark machine with the load generator beside it (``bench/deploy.py``,
  ``bench/results/deploy-2026-11-29.md`` and ``deploy-workers-2026-11-29.md``): ``gthread``
  with one thread (keep-alive) served no more requests (0.96-1.00x) at 1.5-1.7x the p99
  latency, and 3 or 4 workers no more requests (0.93-0.99x) at a higher p99, in 19 % or 36 %
  more memory;
- the app is loaded once in the master and forked (``preload_app``): keys are read and checked
  once, and the workers share those pages. Before the first fork the master collects and
  freezes its objects (``gc.freeze()``), so the workers' garbage collector never writes to the
  shared pages: all processes together use about a quarter less memory (PSS 75 -> 55 MiB on
  the benchmark machine, requests/s unchanged);
- it binds to ``HOST``:``PORT`` from the environment, as hosted runtimes expect (default
  ``0.0.0.0:6543``);
- graceful restarts: ``kill -HUP <master>`` starts new workers and lets the old ones finish
  their requests (``graceful_timeout``); ``kill -TERM`` stops the same way. With
  ``preload_app`` the new workers run the code, ini file and keys the master loaded: to deploy
  new ones, restart the master (or ``kill -USR2 <master>`` to start a new master beside the
  old one, then ``kill -TERM <old master>``);
- logs that never hold a token: in the access log and in gunicorn's error log (which quotes
  the request line when an app raises), the values of ``access_token``, ``refresh_token``,
  ``id_token``, ``token`` and ``code`` query parameters are written as ``[redacted]``; no
  request header is logged;
- no control socket (gunicorn 25.1+ would put every instance's at one path in the home
  directory); signals control the master. Set ``GUNICORN_CONTROL_SOCKET`` to a path of its
  own to use ``gunicornc`` with this instance;
- no CPU pinning: measured with the load generator on the same machine, pinning each worker
  to its own CPU changed neither requests/s (0.99-1.00x) nor p99 latency beyond what the
  order of the runs moves (``bench/deploy.py --variants pinned``).

``pserve example_app/development.ini`` stays the way to develop.
"""

from __future__ import annotations

import gc
import logging
import os
import re
from typing import Any

from gunicorn.glogging import Logger

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '6543')}"
workers = int(os.environ.get("WEB_CONCURRENCY", len(os.sched_getaffinity(0))))
worker_class = "sync"
preload_app = True
timeout = 30
graceful_timeout = 30
# Behind a load balancer or proxy: the addresses whose X-Forwarded-* headers are trusted.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True

_SECRET_PARAMETERS = re.compile(r"((?:^|[?&;])(?:access_token|refresh_token|id_token|token|code)=)[^&;#\s]*",
                                re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with the values of token-bearing query parameters replaced."""
    return _SECRET_PARAMETERS.sub(r"\1[redacted]", text)


class _Redact(logging.Filter):
    """Rewrites a record's message (and traceback) with token values redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


_REDACT = _Redact()


class RedactingLogger(Logger):
    """gunicorn's logger, with token values taken out of every access and error log line."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.addFilter(_REDACT)  # once: addFilter ignores a filter it already has


logger_class = RedactingLogger


def when_ready(server: Any) -> None:
    """Before the first worker is forked: freeze what the master loaded (see the docstring)."""
    gc.collect()
    gc.freeze()
