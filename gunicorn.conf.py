"""gunicorn settings of the Procfile's `web` process (docs/reliability.md, "Serving safely").

gunicorn reads ./gunicorn.conf.py by itself; flags on its command line still win.
"""

import os
import shutil
import tempfile
from pathlib import Path

# Threads, with request heads read off-thread: slow clients cost a socket, not a thread.
worker_class = "config.serving.BufferedHeadThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
# A request still running after this is killed with its worker (Heroku's router gives up at 30 s).
timeout = 30
# SIGTERM (every deploy and restart): stop accepting, finish what was accepted, exit. Heroku
# sends SIGKILL 30 s after SIGTERM, so this leaves 5 s to spare.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 25)
keepalive = 5
# The app writes one JSON line per request itself (config/logs.py), without the query string
# that gunicorn's access log would print.
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.logs.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
}


def on_starting(server):
    """Prometheus multiprocess mode (config/metrics.py): every worker writes its samples to
    files in one directory, wiped at each start; /metrics in any worker sums them all."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):
            stale.unlink()
    else:
        directory = tempfile.mkdtemp(prefix="raxx-prometheus-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        server.prometheus_dir_made = directory
    # Imported here, once, in the master's start-up and after the directory is known (the client
    # picks its multiprocess mode at import). Not in child_exit: that runs in the SIGCHLD
    # handler, and when two workers exited together (every HUP, every deploy) the second
    # signal re-entered the first one's import; the master died of a circular ImportError and
    # took every worker with it (docs/reliability.md, "Serving safely").
    from prometheus_client import multiprocess

    server.prometheus_multiprocess = multiprocess


def child_exit(server, worker):
    # No import here (see on_starting): a signal handler must not start one.
    server.prometheus_multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    # Only a directory this file made; an operator's own PROMETHEUS_MULTIPROC_DIR stays.
    made = getattr(server, "prometheus_dir_made", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)
