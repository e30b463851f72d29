"""The kinds of change of a file between two file sets (Django-free, so the settings can name their
API enum: `FileChangeStatusEnum` in SPECTACULAR_SETTINGS)."""

FILE_CHANGES = ("added", "removed", "modified", "unchanged")
