"""Websocket routes of the simulator app."""

from django.urls import path

from simulator import consumers

websocket_urlpatterns = [
    path("ws/ping/", consumers.PingConsumer.as_asgi()),
    path("ws/simulations/", consumers.SimulationConsumer.as_asgi()),
    path("ws/simulations/<int:simulation_id>/", consumers.SimulationConsumer.as_asgi()),
    path("ws/batches/<int:batch_id>/", consumers.BatchConsumer.as_asgi()),
]
