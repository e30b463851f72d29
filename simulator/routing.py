"""Websocket routes of the simulator app."""

from django.urls import path

from simulator import consumers

websocket_urlpatterns = [
    path("ws/ping/", consumers.PingConsumer.as_asgi()),
]
