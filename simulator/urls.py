"""URL routes of the simulator app."""

from django.urls import path

from simulator import views

urlpatterns = [
    path("simulations/", views.simulation_list, name="simulator-simulation-list"),
    path("simulations/new/", views.simulation_new, name="simulator-simulation-new"),
    path("simulations/<int:simulation_id>/", views.simulation_detail, name="simulator-simulation-detail"),
    path("versions/<int:version_id>/simulate/", views.version_simulate, name="simulator-version-simulate"),
]
