"""URL routes of the simulator app."""

from django.urls import path

from simulator import batch_api, batch_views, views

urlpatterns = [
    path("simulations/", views.simulation_list, name="simulator-simulation-list"),
    path("simulations/new/", views.simulation_new, name="simulator-simulation-new"),
    path("simulations/import/", views.simulation_import, name="simulator-simulation-import"),
    path("simulations/<int:simulation_id>/", views.simulation_detail, name="simulator-simulation-detail"),
    path("simulations/<int:simulation_id>/delete/", views.simulation_delete, name="simulator-simulation-delete"),
    path("simulations/<int:simulation_id>/trace.jsonl", views.simulation_trace, name="simulator-simulation-trace"),
    path("simulations/<int:simulation_id>/recipe.json", views.simulation_recipe, name="simulator-simulation-recipe"),
    path("versions/<int:version_id>/simulate/", views.version_simulate, name="simulator-version-simulate"),
    # Batch runs (simulator/batch_views.py, simulator/batch_api.py; docs/scenarios.md)
    path("batches/", batch_views.batch_list, name="simulator-batch-list"),
    path("batches/<int:batch_id>/", batch_views.batch_detail, name="simulator-batch-detail"),
    path("batches/<int:batch_id>/cancel/", batch_views.batch_cancel, name="simulator-batch-cancel"),
    path("batches/<int:batch_id>/report.csv", batch_views.batch_report_csv, name="simulator-batch-csv"),
    path("batches/<int:batch_id>/report.json", batch_views.batch_report_json, name="simulator-batch-json"),
    path("versions/<int:version_id>/batches/", batch_views.batch_start, name="simulator-batch-start"),
    path("api/versions/<int:version_id>/batches", batch_api.version_batches, name="simulator-api-version-batches"),
    path("api/batches", batch_api.batch_list, name="simulator-api-batch-list"),
    path("api/batches/<int:batch_id>", batch_api.batch_detail, name="simulator-api-batch-detail"),
    path("api/batches/<int:batch_id>/cancel", batch_api.batch_cancel, name="simulator-api-batch-cancel"),
]
