"""Writing many rows at once, fast enough for a county's roster (100,000 pupils in seconds).

Django's bulk_create prepares every value of every object in Python and, on SQLite, sends about 20
rows per statement (999 parameters); with the history rows a county file took over a minute. Here
the caller gives plain tuples of database-ready values; they go in with one COPY on PostgreSQL and
one executemany on SQLite. Primary keys are taken from the table's sequence first, so that the
guardians, history rows and status events can point at their students.

Only for tables whose rows need no Python-side logic on save (no signals, no save() overrides):
the import writes the historical rows itself.
"""

import queue
import re
import sqlite3
import threading
from contextlib import contextmanager
from functools import lru_cache
from itertools import chain

from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.db.models import F, Lookup


def columns_of(model, *, exclude=()):
    """The concrete fields of `model` in table order, as (attname, column)."""
    return [
        (field.attname, field.column) for field in model._meta.concrete_fields if field.attname not in exclude
    ]


def allocate_ids(model, count):
    """`count` fresh primary keys for `model`, reserved from its sequence.

    Call inside the transaction that inserts the rows. On SQLite the writing transaction holds the
    database lock, so the next ids after the highest used one are ours.
    """
    if count == 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array rather than `count` rows: fetching 100,000 rows costs half a second in Python.
            # The sequence's name is looked up once, not for each value (five times faster).
            cursor.execute(
                "WITH sequence AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS name) "
                "SELECT array_agg(nextval(sequence.name)) FROM sequence, generate_series(1, %s)",
                [table, pk, count],
            )
            return cursor.fetchone()[0]
        cursor.execute(f'SELECT COALESCE(MAX("{pk}"), 0) FROM "{table}"')
        highest = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        if row and row[0] and row[0] > highest:
            highest = row[0]
    return list(range(highest + 1, highest + 1 + count))


class Ids:
    """Primary keys for `model`'s rows about to be inserted, chunk after chunk.

    On PostgreSQL they are reserved from the sequence ahead, in blocks that double up to `most`
    (a county's import asks once every ten chunks rather than for each; a small import reserves only
    what it uses). The ids left over at the end are a gap in the sequence, as a rollback leaves.
    On SQLite they follow the highest in the table, or the highest handed out if that is higher
    (the rows of ids handed out may not be written yet).
    """

    def __init__(self, model, most=10_000):
        self.model = model
        self.most = most
        self.block = 0
        self.spare = []
        # SQLite: the highest id handed out, which the table may not hold yet.
        self.highest = 0

    def take(self, count):
        if connection.vendor != "postgresql":
            taken = allocate_ids(self.model, count)
            if taken and taken[0] <= self.highest:
                taken = list(range(self.highest + 1, self.highest + 1 + count))
            if taken:
                self.highest = taken[-1]
            return taken
        if count > len(self.spare):
            self.block = min(max(self.block * 2, count), max(self.most, count))
            self.spare += allocate_ids(self.model, self.block)
        taken, self.spare = self.spare[:count], self.spare[count:]
        return taken


def insert_rows(model, columns, rows, constants=None):
    """Insert `rows` (tuples in the order of `columns`, database-ready values) into `model`'s table;
    `constants` ({column: value}) go into every row alike."""
    if not rows:
        return 0
    table = model._meta.db_table
    constants = constants or {}
    quoted = ", ".join(f'"{column}"' for column in [*columns, *constants])
    if connection.vendor == "postgresql":
        # Binary, each column's type given: psycopg dumps a value by its column's dumper rather than
        # looking one up for each value, and the server parses no text. A county's 100,000 students
        # took 0.15 s of Python rather than 0.54 s.
        same = tuple(constants.values())
        with raw_cursor() as cursor:
            types = column_types(cursor, table, [*columns, *constants])
            with cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN (FORMAT BINARY)') as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row + same if same else row)
        return len(rows)
    # Hundreds of rows a statement rather than executemany's one: a third less time in SQLite. The
    # constants are written into the statement (SQLite compiles it once for all its statements of
    # that many rows): a county's students have nearly as many columns the same for all as their own.
    per_statement = max(sqlite_parameter_limit() // len(columns), 1)
    same = "".join(f", {sqlite_literal(value)}" for value in constants.values())
    with raw_cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            part = rows[start : start + per_statement]
            values = values_clause(len(part), len(columns), same)
            cursor.execute(
                f'INSERT INTO "{table}" ({quoted}) VALUES {values}', list(chain.from_iterable(part))
            )
    return len(rows)


@lru_cache(maxsize=16)
def values_clause(count, width, same):
    """SQLite's VALUES of `count` rows of `width` parameters each, followed by the literals `same`."""
    return ", ".join([f"({', '.join(['?'] * width)}{same})"] * count)


def sqlite_literal(value):
    """`value` (None, a number, a flag or text, database-ready) as an SQLite literal."""
    if value is None:
        return "NULL"
    if value.__class__ is bool:
        return "1" if value else "0"
    if value.__class__ in (int, float):
        return repr(value)
    if value.__class__ is str and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQLite literal for {value!r}")


@contextmanager
def raw_cursor():
    """The driver's own cursor, past Django's wrappers, for statements of thousands of parameters:
    Django's SQLite cursor searches the whole text of each for %s to rewrite (its placeholders are ?
    here), and with DEBUG on every statement's parameters are quoted for connection.queries (SQLite
    asks the database to quote them, a thousand at a time): a county's import spent a second so.
    A violated constraint is Django's IntegrityError all the same."""
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = connection.connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()


_TYPES = {}
PLACEHOLDER = re.compile(r"(?<!%)%s")


def column_types(cursor, table, columns):
    """The type oids of `table`'s `columns` (PostgreSQL), asked once a table and database."""
    key = (connection.settings_dict["NAME"], table)
    if key not in _TYPES:
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [f'"{table}"'],
        )
        _TYPES[key] = dict(cursor.fetchall())
    types = _TYPES[key]
    return [types[column] for column in columns]


def sqlite_parameter_limit():
    """How many parameters one SQLite statement may have (32,766 since SQLite 3.32)."""
    return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


class Column:
    """In `insert_select`: take this column of the source row."""

    def __init__(self, name):
        self.name = name


class Sql:
    """In `insert_select`: an SQL expression over the source row, with its parameters."""

    def __init__(self, sql, params=()):
        self.sql = sql
        self.params = list(params)


def insert_select(target, values, source, pks):
    """INSERT INTO target (…) SELECT … FROM source WHERE pk IN pks: rows copied inside the database.

    `values` maps each target column to a Column of the source, an Sql expression or a plain value
    (sent as a parameter). History rows and status events are made this way from the rows just
    inserted: nothing goes back and forth through Python.
    """
    if not pks:
        return 0
    return execute_all([insert_select_statement(target, values, source, pks)])


def insert_select_statement(target, values, source, pks):
    """The (sql, params) of an `insert_select`, to run with others by `execute_all`."""
    return insert_select_where(target, values, source, *key_condition(source._meta.pk.column, pks))


def key_condition(pk, pks):
    """(condition, params) choosing the rows whose column `pk` (integer keys) is one of `pks`.

    Keys that are every number from the lowest to the highest, as the rows of a chunk get from
    Ids, are chosen as that range: one walk along the index rather than a descent for each key
    (PostgreSQL spent 0.2 s more on each 100,000 rows copied that way)."""
    keys = [int(value) for value in pks]
    if not keys:
        return "1 = 0", []
    lowest, highest = min(keys), max(keys)
    if len(set(keys)) == highest - lowest + 1:
        return f'"{pk}" BETWEEN %s AND %s', [lowest, highest]
    if connection.vendor == "postgresql":
        # The keys as one array literal: psycopg would quote each of a thousand numbers in Python.
        return f'"{pk}" = ANY(%s::bigint[])', ["{" + ",".join(map(str, keys)) + "}"]
    return f'"{pk}" IN ({", ".join(["%s"] * len(keys))})', keys


def insert_select_where(target, values, source, condition, condition_params=()):
    """The (sql, params) of INSERT INTO target (…) SELECT … FROM source WHERE `condition`: rows copied
    inside the database, chosen by any condition (a subquery, say), however many they are."""
    names, expressions, params = [], [], []
    for column, value in values.items():
        names.append(f'"{column}"')
        if isinstance(value, Column):
            expressions.append(f'"{value.name}"')
        elif isinstance(value, Sql):
            expressions.append(value.sql)
            params += value.params
        elif value is None:
            expressions.append("NULL")
        else:
            expressions.append("%s")
            params.append(value)
    sql = (
        f'INSERT INTO "{target._meta.db_table}" ({", ".join(names)}) '
        f'SELECT {", ".join(expressions)} FROM "{source._meta.db_table}" WHERE {condition}'
    )
    return sql, params + list(condition_params)


def execute_all(statements):
    """Run (sql, params) statements in order; the rows they affected, in all.

    On PostgreSQL in one round trip: Django's psycopg cursors bind the parameters on the client side
    (unless the database's OPTIONS ask for server_side_binding), and then statements may be joined.
    """
    if not statements:
        return 0
    joined = connection.vendor == "postgresql" and not connection.settings_dict["OPTIONS"].get(
        "server_side_binding"
    )
    if connection.vendor == "sqlite":
        # As Django's SQLite cursor would rewrite them (its placeholders are ?).
        statements = [(PLACEHOLDER.sub("?", sql).replace("%%", "%"), params) for sql, params in statements]
    with raw_cursor() as cursor:
        if joined and len(statements) > 1:
            cursor.execute(
                ";\n".join(sql for sql, _params in statements),
                [param for _sql, params in statements for param in params],
            )
            affected = cursor.rowcount
            while cursor.nextset():
                affected += cursor.rowcount
            return affected
        affected = 0
        for sql, params in statements:
            cursor.execute(sql, params)
            affected += cursor.rowcount
        return affected


def history_values(model, *, when, reason, kind, user_id):
    """`insert_select` values for the history rows of `model` copied from its own table."""
    history = model.history.model
    own = {field.attname for field in model._meta.concrete_fields}
    values = {}
    for attname, column in columns_of(history, exclude=("history_id",)):
        if attname in own:
            values[column] = Column(model._meta.get_field(attname).column)
    values.update(
        {
            "history_date": when,
            "history_change_reason": reason,
            "history_type": kind,
            "history_user_id": user_id,
        }
    )
    return values


def update_rows(model, columns, rows):
    """UPDATE `model`'s table: each row is (values for `columns` …, primary key)."""
    if not rows:
        return 0
    table = model._meta.db_table
    pk = model._meta.pk.column
    assignments = ", ".join(f'"{column}" = %s' for column in columns)
    with connection.cursor() as cursor:
        cursor.executemany(f'UPDATE "{table}" SET {assignments} WHERE "{pk}" = %s', rows)
    return len(rows)


def delete_rows(model, pks):
    if not pks:
        return 0
    return model._base_manager.filter(pk__in=pks)._raw_delete(connection.alias)


def datetime_value(value):
    """A timezone-aware datetime as the database wants it (SQLite stores naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def date_value(value):
    return connection.ops.adapt_datefield_value(value) if connection.vendor == "sqlite" else value


# SQLite's page cache while an import writes (KiB): the students table has a dozen indexes, and with
# the default 2 MB cache their pages are read again and again. 16 MB writes a county's file as fast as
# 64 MB did (4.7-4.9 s against 4.8-5.2 s, interleaved) and keeps the import 50 MB further under its
# 500 MB (the cache is the parent's while its checking processes still hold the parsed sheet).
SQLITE_IMPORT_CACHE_KIB = 16 * 1024


@contextmanager
def fast_writes():
    """A larger page cache on SQLite for the duration of a bulk write; nothing on PostgreSQL."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


# An import's lookups start no parallel workers on PostgreSQL. Its processes, the writing backend and
# the reading one already keep every core busy. In a students table without statistics (a new
# system's, growing by the import's own rows) 11 of a county's 24 lookups of a chunk's ID numbers
# were planned as parallel bitmap scans with two workers each: such a lookup took 34 ms (three
# processes busy) against 11-17 ms in one process, measured beside an open import of 80,000 rows.
NO_PARALLEL_WORKERS = 0


@contextmanager
def streaming_writes():
    """On PostgreSQL, for a bulk write streamed while other processes check the rows to come:

    - foreign keys are checked as each statement runs rather than at the commit (Django makes them
      deferred): the checking time is spent alongside the other processes, not in one long commit;
    - rows are looked up by index. The students table of a new system has no statistics yet; for a
      lookup of a chunk's thousands of ID numbers the planner then guesses a large share of the table
      and scans all of it, a table that grows by a chunk at a time (the checks of a county import
      grew fourfold). Every lookup the import makes has its index, as a table with statistics would use;
    - no query starts parallel workers (see NO_PARALLEL_WORKERS).

    On an error the rollback (of the transaction or savepoint) restores these settings by itself.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"SET LOCAL max_parallel_workers_per_gather = {NO_PARALLEL_WORKERS}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute("SET LOCAL enable_seqscan = DEFAULT")
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = DEFAULT")


class AnyOf(Lookup):
    """field = ANY(%s) on PostgreSQL: one array parameter, however long the list; IN (…) elsewhere.

    Django's __in sends one parameter per value, and psycopg parses a query of 5,000 placeholders
    in Python: a county import spent a second on that alone.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        if not self.rhs:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            literal = array_literal(self.rhs)
            if literal is not None:
                return f"{lhs} = ANY(%s::{literal[1]})", [*lhs_params, literal[0]]
            return f"{lhs} = ANY(%s)", [*lhs_params, self.rhs]
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", [*lhs_params, *self.rhs]


def array_literal(values):
    """(text, type) of a PostgreSQL array of `values` when they are all whole numbers or all text,
    else None. One string parameter: psycopg dumps a list value by value in Python (a third of a
    second over a county's lookups)."""
    kinds = {value.__class__ for value in values}
    if kinds == {int}:
        return "{" + ",".join(map(str, values)) + "}", "bigint[]"
    if kinds == {str}:
        quoted = ",".join('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values)
        return "{" + quoted + "}", "text[]"
    return None


def any_of(field, values):
    """A filter() argument: `field` is one of `values`."""
    return AnyOf(F(field), values)


class WritingBehind:
    """Runs bulk writes one after another in a second thread, on the caller's connection and in its
    transaction, while the caller prepares the next ones (PostgreSQL only; elsewhere a job runs at once:
    on SQLite a writing thread and the caller fought over Python's lock and the connection, and a
    county's import took 40 % longer).

    The thread mostly waits for the server, which frees Python for the caller: the server's work and the
    caller's overlap instead of taking turns. psycopg lets one statement at a time use the connection,
    so the caller may run queries meanwhile; whatever the caller does that must not fall between two
    jobs (a savepoint, its rollback, the transaction's end) comes after `drain()`.

    A failed job is raised once, by the next `submit()` or `drain()`, and every job after it is dropped
    (the transaction is aborted; the caller rolls it or a savepoint back). The caller's own queries fail
    meanwhile: `failure()` tells what went wrong first. Leaving the block waits for the running job; an
    exception in the block drops the jobs still queued.
    """

    def __init__(self, depth=3):
        self.threaded = connection.vendor == "postgresql"
        self.jobs = queue.Queue(maxsize=depth)
        self.error = None
        # Set by a failed job or an exception in the block: no job runs after that.
        self.stopped = False
        self.thread = None

    def __enter__(self):
        if self.threaded:
            shared = connections[connection.alias]
            shared.inc_thread_sharing()
            self.thread = threading.Thread(target=self._work, args=(shared,), name="bulk-writer", daemon=True)
            self.thread.start()
        return self

    def __exit__(self, kind, error, traceback):
        if self.thread is None:
            return
        if kind is not None:
            self.stopped = True
        self.jobs.put(None)
        self.thread.join()
        connections[connection.alias].dec_thread_sharing()
        self.thread = None
        if kind is None:
            self._raise()

    def submit(self, job):
        """Run `job()` (a callable that writes) after the jobs already submitted."""
        if not self.threaded:
            job()
            return
        self._raise()
        self.jobs.put(job)

    def drain(self):
        """Wait for every job submitted so far; raise the first failure."""
        error = self.failure()
        if error is not None:
            raise error

    def failure(self):
        """After the caller's query failed: wait for the jobs and give the error of the one that failed
        first (which aborted the transaction), or None. The failure is then forgotten."""
        if self.threaded:
            self.jobs.join()
        error, self.error = self.error, None
        return error

    def _raise(self):
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def _work(self, shared):
        # In this thread Django's `connection` is the caller's: the same connection, the same transaction.
        connections[shared.alias] = shared
        try:
            while True:
                job = self.jobs.get()
                try:
                    if job is None:
                        return
                    if not self.stopped:
                        job()
                except BaseException as error:  # handed to the caller's thread
                    self.error = error
                    self.stopped = True
                finally:
                    self.jobs.task_done()
        finally:
            del connections[shared.alias]


def can_read_aside():
    """Whether an import about to open its transaction may read on a connection of its own
    (ReadingAside): on PostgreSQL, when no transaction is open yet. Inside a caller's transaction
    (a test's, say) another connection would not see what that transaction has written."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


class ReadingAside:
    """Runs the stream's reads (the students a chunk's keys already belong to, the 学籍号 taken,
    primary keys from the sequences) in a thread with a connection of its own, while WritingBehind's
    thread writes on the import's connection.

    On the shared connection each read waited for the statement being written (a county's import
    spent 6 of its 16 s so). The reads see what is committed, not the rows this import has written so
    far, which they need not: the stream writes ahead only rows that repeat no earlier row's ID
    number, 学籍号 or person, numbers it gives are noted in memory, the classes it creates are kept
    in the plan, and the unique constraints refuse whatever slips through (the stream then falls back
    to the whole check on the import's own connection). `enabled=False` runs each call at once.
    """

    def __init__(self, enabled):
        self.enabled = enabled
        self.executor = None

    def __enter__(self):
        if self.enabled:
            from concurrent.futures import ThreadPoolExecutor

            self.executor = ThreadPoolExecutor(1, thread_name_prefix="roster-reader")
            try:
                self.run(self._prepare)
            except BaseException:
                self.__exit__(None, None, None)
                raise
        return self

    def __exit__(self, *exc_info):
        if self.executor is None:
            return
        try:
            self.executor.submit(self._close).result()
        finally:
            self.executor.shutdown()
            self.executor = None

    def run(self, function, *args):
        """`function(*args)`, on the reading connection; its result, or its exception raised here."""
        if self.executor is None:
            return function(*args)
        return self.executor.submit(function, *args).result()

    @staticmethod
    def _prepare():
        # This thread's own connection (Django's are per thread), in autocommit: each read sees what
        # is committed when it runs. Looked up by index and in one process, as streaming_writes has
        # the writer's do.
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off")
            cursor.execute(f"SET max_parallel_workers_per_gather = {NO_PARALLEL_WORKERS}")

    @staticmethod
    def _close():
        connection.close()
