"""gunicorn settings for serving the example app in production:

    gunicorn --paste example_app/production.ini -c example_app/gunicorn.conf.py

Copy it next to your own production.ini: it names nothing of the example app. Why each
line is as it is, measured: the docs' chapter "Performance and deployment". Put a proxy or
load balancer that buffers requests in front of it (sync workers serve one request each).
"""

import gc
import os

from pyramid_jwtnode.tools.gunicorn import RedactingLogger, bind_address, worker_count

bind = bind_address()  # HOST:PORT from the environment, default 0.0.0.0:6543
workers = worker_count()  # WEB_CONCURRENCY, else one per CPU (affinity and cgroup quota)
worker_class = "sync"
preload_app = True  # the app (its keys) loaded once, in the master, before the fork
timeout = 30
graceful_timeout = 30
# gunicorn trusts the X-Forwarded-Proto of the addresses in FORWARDED_ALLOW_IPS
# (default 127.0.0.1,::1): set it to your proxy's address.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms'
logger_class = RedactingLogger  # no token in either log
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True  # signals control the master


def when_ready(server: object) -> None:
    """Before the first worker is forked: freeze what the master loaded, so the workers'
    garbage collector never writes to the pages they share with it."""
    gc.collect()
    gc.freeze()
