"""The states of a batch run (BatchRun.status). A module of its own, importing nothing of the
project, so the settings can name its API enum (`BatchStatusEnum` in SPECTACULAR_SETTINGS)."""

from django.db.models import TextChoices


class BatchStatus(TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
