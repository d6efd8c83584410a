"""gunicorn entry point of the throughput bench: the project's WSGI app with tests.bench.urls."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()

from django.conf import settings  # noqa: E402

settings.ROOT_URLCONF = "tests.bench.urls"  # before the first request builds the resolver
