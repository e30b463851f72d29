"""Models of the simulator app: one `Simulation` row per simulation a user opened.

A simulation is never stored as interpreter state: it is the recipe to rebuild that state by
deterministic replay (architecture, "Deployment"): the version, the fakes profile, the seed and
the log of inputs the user gave (steps, injected events, answers, fakes edits, clock moves).
Any Daphne process can therefore resume it (`simulator.sessions.SimulationRuntime.build`).

The inputs log is append-only rows (`SimulationOp`), written before the frame of an operation is
sent (`simulator.persistence`): a process killed right after a step loses nothing. Every change of
the log or the recipe bumps `Simulation.revision` by compare-and-set, which orders the operations
of two processes driving the same simulation (docs/simulation-protocol.md, "Durability").
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property

from simulator.batchstatus import BatchStatus


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
    #: bumped by every stored change of the inputs log or the recipe (compare-and-set: see above)
    revision = models.PositiveBigIntegerField(default=0)
    #: number of operations in the stored inputs log (`ops` rows 0 .. log_length - 1)
    log_length = models.PositiveIntegerField(default=0)
    #: where runs stop (simulator.breakpoints.Breakpoints JSON); not part of the replayed inputs
    breakpoints = models.JSONField(default=dict, blank=True)
    #: the debugger's watch expressions (simulator.debugger), shown with every snapshot
    watches = models.JSONField(default=list, blank=True)
    #: team members who can view the version may watch it live (read-only)
    shared = models.BooleanField(default=False)
    #: a read-only replay of this scenario file (docs/scenarios.md, "Failing record"); "" otherwise
    scenario = models.CharField(max_length=500, blank=True)
    #: path -> designer Blob sha256 of the files it runs when they are not its version's (a
    #: replay of a draft's scenario: the draft as it was); {} = the version's files
    files = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"simulation {self.pk} of {self.version} by {self.owner}"

    @cached_property
    def inputs(self) -> list[dict]:
        """The stored inputs log: [{"op": ..., ..., "seq": last trace record number after the op}]
        (read once per row object)."""
        return [row.op for row in self.ops.filter(index__lt=self.log_length).order_by("index")]

    def write_inputs(self, inputs: list[dict]) -> None:
        """Replace the stored inputs log (a new simulation, an imported recipe)."""
        self.ops.all().delete()
        self.revision += 1
        self.log_length = len(inputs)
        SimulationOp.objects.bulk_create(
            SimulationOp(simulation=self, index=i, revision=self.revision, op=op) for i, op in enumerate(inputs)
        )
        Simulation.objects.filter(pk=self.pk).update(revision=self.revision, log_length=self.log_length)
        self.inputs = list(inputs)


class SimulationOp(models.Model):
    """One operation of a simulation's inputs log (see sessions.py for the operations)."""

    simulation = models.ForeignKey(Simulation, on_delete=models.CASCADE, related_name="ops")
    #: position in the log (0-based)
    index = models.PositiveIntegerField()
    #: the simulation revision that wrote it (what a process that saw an older revision must catch up)
    revision = models.PositiveBigIntegerField()
    op = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["simulation", "index"], name="simulation_op_index")]

    def __str__(self) -> str:
        return f"operation {self.index} of simulation {self.simulation_id}"


class BatchRun(models.Model):
    """A batch simulation job (simulator.batches): N interactions of a version, run off the request.

    Readable by whoever reads the version; started by editors and owners of its team. ``done``
    and ``status`` follow the run (written at a modest rate by the process driving it, which
    also refreshes ``heartbeat``: a run whose heartbeat stopped is ``interrupted``). ``report`` is
    simulator.runners.batch.run_batch's summary, kept.
    """

    Status = BatchStatus

    #: a run in one of these holds one of its owner's concurrent-batch slots
    ACTIVE = (Status.QUEUED, Status.RUNNING)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batch_runs")
    version = models.ForeignKey("designer.Version", on_delete=models.CASCADE, related_name="batch_runs")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    count = models.PositiveIntegerField()
    seed = models.BigIntegerField(default=0)
    #: variation spec (simulator.runners.batch.parse_vary) and base fakes profile, as given
    vary = models.JSONField(default=dict, blank=True)
    fakes = models.JSONField(default=dict, blank=True)
    #: interactions finished so far
    done = models.PositiveIntegerField(default=0)
    #: "local" (process pool of the web process) or "celery" (settings.BATCH_EXECUTOR at start)
    executor = models.CharField(max_length=10, default="local")
    #: set by a cancel from any process; the driving process stops at its next chunk
    cancel_requested = models.BooleanField(default=False)
    created = models.DateTimeField(default=timezone.now)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    #: last sign of life of the process driving the run (see simulator.batches.mark_interrupted)
    heartbeat = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    report = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["owner", "status"], name="simulator_batch_owner_status")]

    def __str__(self) -> str:
        return f"batch {self.pk} of {self.version} ({self.count} interactions, {self.status})"

    @property
    def active(self) -> bool:
        return self.status in self.ACTIVE
