"""The Celery application of orchweb: `celery -A orchweb worker` runs batch simulation chunks.

Broker: ``CELERY_BROKER_URL`` (``ORCHWEB_CELERY_BROKER_URL``, default ``REDIS_URL``; an
``amqp://`` URL uses RabbitMQ). Results: ``REDIS_URL``. Settings are the Django settings with the
``CELERY_`` prefix (orchweb/settings.py).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchweb.settings")

app = Celery("orchweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
# The tasks module is named, not discovered: the import graph stays explicit.
app.conf.imports = ("simulator.tasks", "designer.tasks")
