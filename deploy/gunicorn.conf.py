"""Gunicorn for Pumpurs Grants behind the local nginx (deploy/nginx-site.conf); started by
deploy/pumpurs-grants-web.service as `gunicorn --config deploy/gunicorn.conf.py`.

Every setting can be changed from the environment file (/etc/pumpurs-grants/env) without editing this one."""
import multiprocessing
import os

wsgi_app = "wsgi:app"
# loopback only: nginx is the one way in
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# sync workers, the usual 2 × cores + 1: a request waits on PostgreSQL, rarely on the CPU, and PDFs are rendered by
# the worker service, not in a request
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# a request that takes longer than this is killed and answered 502 by nginx (an export of a big call takes seconds)
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30  # systemctl reload/restart: requests in flight may finish
keepalive = 5  # nginx keeps connections to us open (upstream keepalive)
max_requests = 2000  # a worker is replaced now and then, so a slow leak never grows
max_requests_jitter = 200
# the X-Forwarded-* headers are trusted from the local nginx only; the app applies them through ProxyFix
# (PROXIES_IN_FRONT=1, config.py), so the client's address in the log and the login throttle is the real one
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proxy_allow_ips = forwarded_allow_ips
# systemctl reload/restart manage it; gunicorn's own control socket (in $HOME, which the unit makes read-only)
# would only be a second way in
control_socket_disable = True

# Logging: every line in the app's one JSON format (app/logging_setup.py), on stderr, which systemd sends to the
# journal. The access line is written by the app after each request (it knows the request id, the user and the
# client's real address), so gunicorn's own access log stays off rather than writing a second, poorer line.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.logging_setup.JsonFormatter"}},
    "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
}
