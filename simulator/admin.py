"""Admin registrations of the simulator app."""

from django.contrib import admin

from simulator.models import BatchRun, Simulation


@admin.register(Simulation)
class SimulationAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "version", "shared", "updated_at")
    list_filter = ("shared",)
    raw_id_fields = ("owner", "version")


@admin.register(BatchRun)
class BatchRunAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "version", "status", "done", "count", "executor", "created")
    list_filter = ("status", "executor")
    raw_id_fields = ("owner", "version")
