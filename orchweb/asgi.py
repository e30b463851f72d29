"""ASGI entry point: HTTP through Django (collected static files just before it, orchweb.staticfiles),
websockets through Channels, on one port (Daphne)."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchweb.settings")
django_asgi_app = get_asgi_application()  # before importing anything that touches models

from asgiref.sync import SyncToAsync  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from orchweb.affinity import pin_process  # noqa: E402
from orchweb.autobahn_debug import defer_debug_formatting  # noqa: E402
from orchweb.daphne_forms import leave_form_bodies_to_django  # noqa: E402
from orchweb.handshake import AcceptFirst  # noqa: E402
from orchweb.inflight import CountRequests  # noqa: E402
from orchweb.limits import BodySizeLimit  # noqa: E402
from orchweb.origin import SameOriginValidator  # noqa: E402
from orchweb.routing import websocket_urlpatterns  # noqa: E402
from orchweb.sqlite import keep_connections  # noqa: E402
from orchweb.staticfiles import StaticFiles  # noqa: E402
from orchweb.twisted_writes import send_writes_now  # noqa: E402

leave_form_bodies_to_django()
# autobahn's per-frame debug lines: formatted only when printed (orchweb/autobahn_debug.py)
defer_debug_formatting()
# a websocket frame with nothing queued before it: sent at once, not at the reactor's next turn
# (orchweb/twisted_writes.py)
send_writes_now()
# ORCHWEB_CPU: this process's threads on one CPU, before the simulation workers and the journal
# start (they inherit it): a step's GIL hand-overs then stay on that CPU (orchweb/affinity.py).
pin_process(settings.PROCESS_CPU)
# Channels runs every consumer's `database_sync_to_async` call on asgiref's one thread (no request
# context around them): it keeps its SQLite connection (orchweb.sqlite).
keep_connections(SyncToAsync.single_thread_executor)
application = ProtocolTypeRouter(
    {
        "http": CountRequests(BodySizeLimit(StaticFiles(django_asgi_app))),
        "websocket": SameOriginValidator(
            AcceptFirst(
                AuthMiddlewareStack(URLRouter(websocket_urlpatterns)), paths=("/ws/simulations/", "/ws/batches/")
            )
        ),
    }
)

# What importing left (Django, the libraries, the application's modules: ~100,000 objects that live
# as long as the process) leaves the garbage collector's generations: a full collection otherwise
# walks all of them again each time, holding the GIL, and every socket of the process waits (a
# pause of 100-400 ms with 250 live simulations; docs/performance.md, "Garbage collection pauses").
# Collected first, so no garbage of the imports is kept for good.
gc.collect()
gc.freeze()
# The young generation collected every 5,000 new tracked objects, not CPython's 700: its collections
# find almost no garbage here (a step's objects go by reference counting) but walk, and promote,
# the steps in flight, whose promoted count is what triggers a full collection (a pause of
# 250-500 ms with 500 live simulations). Full collections come ~7x less often by count, the
# collector's CPU a step of the open loop is a quarter of what it was; cyclic garbage waits longer
# for them (docs/performance.md, "The journal's commit shared, and the collector's young
# generation", helper openloop3).
gc.set_threshold(5000, 10, 10)
