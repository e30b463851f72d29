"""Websocket URL routes of every app, collected in one list for orchweb.asgi."""

from simulator.routing import websocket_urlpatterns as simulator_ws

websocket_urlpatterns = [*simulator_ws]
