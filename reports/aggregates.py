"""A median computed by the database: `percentile_cont(0.5)` on PostgreSQL; on SQLite, which has
no such function, an aggregate written in Python and registered on each new connection
(`register_sqlite_median`, connected in ReportsConfig.ready)."""

import statistics

from django.db.models import Aggregate, FloatField, Func

SQLITE_MEDIAN = "registrar_median"


class Median(Aggregate):
    name = "Median"
    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()
    allow_distinct = False

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, function=SQLITE_MEDIAN, template="%(function)s(%(expressions)s)"
        )


class _SQLiteMedian:
    def __init__(self):
        self.values = []

    def step(self, value):
        if value is not None:
            self.values.append(value)

    def finalize(self):
        return statistics.median(self.values) if self.values else None


def register_sqlite_median(sender, connection, **kwargs):
    """connection_created handler: SQLite connections learn the median aggregate."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(SQLITE_MEDIAN, 1, _SQLiteMedian)


class DaysBetween(Func):
    """The time from `start` to `end` in days (a fraction: 36 hours is 1.5)."""

    output_field = FloatField()
    arity = 2
    template = "(EXTRACT(EPOCH FROM (%(end)s - %(start)s)) / 86400.0)"

    def __init__(self, start, end, **extra):
        super().__init__(start, end, **extra)

    def as_sql(self, compiler, connection, function=None, template=None, **extra_context):
        start, end = (compiler.compile(expression) for expression in self.source_expressions)
        template = template or self.template
        # Both templates name the end first: the parameters follow that order.
        sql = template % {"start": start[0], "end": end[0]}
        return sql, (*end[1], *start[1])

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="(julianday(%(end)s) - julianday(%(start)s))")
