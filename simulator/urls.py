"""URL routes of the simulator app."""

from django.urls import path

from simulator import views

urlpatterns = [
    path("simulations/", views.simulation_list, name="simulator-simulation-list"),
    path("simulations/new/", views.simulation_new, name="simulator-simulation-new"),
    path("simulations/import/", views.simulation_import, name="simulator-simulation-import"),
    path("simulations/<int:simulation_id>/", views.simulation_detail, name="simulator-simulation-detail"),
    path("simulations/<int:simulation_id>/delete/", views.simulation_delete, name="simulator-simulation-delete"),
    path("simulations/<int:simulation_id>/trace.jsonl", views.simulation_trace, name="simulator-simulation-trace"),
    path("simulations/<int:simulation_id>/recipe.json", views.simulation_recipe, name="simulator-simulation-recipe"),
    path("versions/<int:version_id>/simulate/", views.version_simulate, name="simulator-version-simulate"),
]
