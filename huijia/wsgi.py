"""WSGI entry point (gunicorn huijia.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huijia.settings")
application = get_wsgi_application()
