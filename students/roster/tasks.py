"""The path of the import job before it moved to batches.py: jobs queued then still find it."""

from students.roster.batches import import_batch

__all__ = ["import_batch"]
