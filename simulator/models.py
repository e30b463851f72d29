"""Models of the simulator app: one `Simulation` row per simulation a user opened.

A simulation is never stored as interpreter state: it is the recipe to rebuild that state by
deterministic replay (architecture, "Deployment"): the version, the fakes profile, the seed and
the log of inputs the user gave (steps, injected events, answers, fakes edits, clock moves).
Any Daphne process can therefore resume it (`simulator.sessions.SimulationRuntime.build`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Simulation(models.Model):
    """A user's simulation of one version: configuration + input log (replayable)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="simulations")
    version = models.ForeignKey("designer.Version", on_delete=models.CASCADE, related_name="simulations")
    #: the fakes profile (inline JSON, validated by simulator.ors.fakes.load_fakes)
    fakes = models.JSONField(default=dict, blank=True)
    #: project file the fakes came from (`fakes/x.json`), informative; "" for inline/default fakes
    fakes_source = models.CharField(max_length=500, blank=True)
    seed = models.IntegerField(default=0)
    #: document the simulation starts from ("": the version's entry); another IPD or workflow of it
    entry = models.CharField(max_length=500, blank=True)
    #: inputs log: [{"op": ..., ..., "seq": last trace record number after the op}] (see sessions.py)
    inputs = models.JSONField(default=list, blank=True)
    #: where runs stop (simulator.breakpoints.Breakpoints JSON); not part of the replayed inputs
    breakpoints = models.JSONField(default=dict, blank=True)
    #: the debugger's watch expressions (simulator.debugger), shown with every snapshot
    watches = models.JSONField(default=list, blank=True)
    #: team members who can view the version may watch it live (read-only)
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"simulation {self.pk} of {self.version} by {self.owner}"
