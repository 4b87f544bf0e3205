"""History rows of a model that is written in bulk.

A county's roster import writes 100,000 students, their family members and a history row for each
of them in one transaction, and a province's promotion a million. simple-history indexes every
history table by date and by user. We never read these two tables that way: a record's history is
read by the record's id (its own index), then put in date order. Each index still costs every bulk
write. On PostgreSQL the two indexes of the students' and family members' history tables took 0.6 s
of a county's import (100,000 rows each, measured one statement at a time).
"""

from simple_history.models import HistoricalRecords


class BulkHistoricalRecords(HistoricalRecords):
    """HistoricalRecords without the indexes on history_date and history_user.

    The user column keeps its relation. Deleting a user then scans these tables to clear the
    user's rows (on_delete=SET_NULL). That is rare: a user who has done anything has audit events,
    which protect the account from deletion.
    """

    def get_extra_fields(self, model, fields):
        extra = super().get_extra_fields(model, fields)
        extra["history_date"].db_index = False
        return extra

    def _get_history_user_fields(self):
        fields = super()._get_history_user_fields()
        user = fields.get("history_user")
        if user is not None and hasattr(user, "db_index"):
            user.db_index = False
        return fields
