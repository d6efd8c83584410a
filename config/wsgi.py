import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# gunicorn runs no system checks: refuse to serve with a broken flag registry or FLAG_* env.
from flags.registry import assert_ready  # noqa: E402

assert_ready()
