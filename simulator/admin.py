"""Admin registrations of the simulator app."""

from django.contrib import admin

from simulator.models import Simulation


@admin.register(Simulation)
class SimulationAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "version", "shared", "updated_at")
    list_filter = ("shared",)
    raw_id_fields = ("owner", "version")
