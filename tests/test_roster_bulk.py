"""The roster import's bulk writing: writes behind in a thread, ids in blocks, joined statements."""

import threading
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, IntegrityError, connection, transaction

from students.roster import bulk

pytestmark = pytest.mark.django_db


def add_group(name, threads=None):
    def job():
        if threads is not None:
            threads.append(threading.get_ident())
        bulk.insert_rows(Group, ["name"], [(name,)])

    return job


def names():
    return list(Group.objects.order_by("name").values_list("name", flat=True))


def test_jobs_run_in_order_in_the_callers_transaction():
    threads = []
    with transaction.atomic():
        savepoint = transaction.savepoint()
        with bulk.WritingBehind() as behind:
            for name in ("a", "b", "c", "d", "e"):
                behind.submit(add_group(name, threads))
            behind.drain()
            assert names() == ["a", "b", "c", "d", "e"]
        # On PostgreSQL another thread wrote them; anywhere, a rollback of the caller undoes them.
        assert len(threads) == 5
        assert (threading.get_ident() not in threads) == (connection.vendor == "postgresql")
        transaction.savepoint_rollback(savepoint)
        assert names() == []


@contextmanager
def behind_then_undone():
    """A WritingBehind in a savepoint rolled back afterwards; the group "taken" was there before."""
    Group.objects.create(name="taken")
    with transaction.atomic():
        savepoint = transaction.savepoint()
        with bulk.WritingBehind() as behind:
            yield behind
        transaction.savepoint_rollback(savepoint)
    assert names() == ["taken"]


def test_a_failed_job_is_raised_once_and_the_jobs_after_it_are_dropped():
    threads = []
    with behind_then_undone() as behind:
        behind.submit(add_group("a", threads))
        with pytest.raises(IntegrityError):
            # PostgreSQL: raised by a later call; elsewhere at once.
            behind.submit(add_group("taken", threads))
            behind.submit(add_group("b", threads))
            behind.drain()
        behind.drain()
    assert len(threads) == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the thread writes on PostgreSQL only")
def test_the_callers_query_after_a_failed_job_learns_the_first_error():
    with behind_then_undone() as behind:
        behind.submit(add_group("taken"))
        behind.jobs.join()
        with pytest.raises(DatabaseError) as raised:
            Group.objects.count()
        assert not isinstance(raised.value, IntegrityError)
        assert isinstance(behind.failure(), IntegrityError)
        assert behind.failure() is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the thread writes on PostgreSQL only")
def test_an_error_in_the_block_drops_the_queued_jobs():
    started = threading.Event()
    release = threading.Event()
    ran = []

    def slow():
        started.set()
        release.wait(5)
        ran.append("slow")
        bulk.insert_rows(Group, ["name"], [("slow",)])

    def queued():
        ran.append("queued")

    with pytest.raises(RuntimeError), transaction.atomic(), bulk.WritingBehind() as behind:
        behind.submit(slow)
        started.wait(5)
        behind.submit(queued)
        release.set()
        raise RuntimeError("the caller gave up")
    # The running job finished before the transaction was rolled back; the queued one never ran.
    assert ran == ["slow"]
    assert names() == []


def test_ids_come_in_blocks_and_are_never_given_twice(monkeypatch):
    """Each chunk's ids are written before the next are taken, as the import does (on SQLite the next
    ids are those after the highest written)."""
    asked = []
    allocate = bulk.allocate_ids

    def counted(model, count):
        asked.append(count)
        return allocate(model, count)

    monkeypatch.setattr(bulk, "allocate_ids", counted)
    ids = bulk.Ids(Group, most=8)
    taken = []
    for count in (3, 3, 10, 1):
        chunk = ids.take(count)
        assert len(chunk) == count
        bulk.insert_rows(Group, ["id", "name"], [(pk, f"g{pk}") for pk in chunk])
        taken += chunk
    assert len(set(taken)) == len(taken) == Group.objects.count()
    if connection.vendor == "sqlite":
        # The next ids follow those handed out, even before they are written.
        first = ids.take(2)
        assert ids.take(2) == [first[-1] + 1, first[-1] + 2]
    if connection.vendor == "postgresql":
        # Blocks doubling up to 8, or what one take needs: 3 of them for the 4 takes.
        assert asked == [3, 6, 10]
        # Another reservation never takes this one's spare ids.
        assert not set(bulk.Ids(Group).take(2)) & set(taken + ids.spare)


def test_statements_joined_in_one_round_trip_run_in_order():
    Group.objects.bulk_create([Group(name="a"), Group(name="b")])
    a, b = Group.objects.order_by("name").values_list("id", flat=True)
    statements = [
        bulk.insert_select_statement(Group, {"name": bulk.Sql('"name" || %s', [suffix])}, Group, ids)
        for suffix, ids in (("-1", [a]), ("-2", [a, b]))
    ]
    assert bulk.execute_all(statements) == 3
    assert names() == ["a", "a-1", "a-2", "b", "b-2"]


def test_rows_are_copied_by_a_range_of_keys_only_when_the_keys_are_every_one_in_it():
    assert bulk.key_condition("id", [5, 3, 4, 4, 6]) == ('"id" BETWEEN %s AND %s', [3, 6])
    gapped, _params = bulk.key_condition("id", [3, 5, 6])
    assert "BETWEEN" not in gapped
    assert bulk.key_condition("id", [])[0] == "1 = 0"
    Group.objects.bulk_create([Group(name=f"g{n}") for n in range(6)])
    pks = list(Group.objects.order_by("id").values_list("id", flat=True))
    copy = {"name": bulk.Sql('"name" || %s', ["+"])}
    # A run of keys, then keys with a gap whose neighbour must not be copied, then none at all.
    statements = [
        bulk.insert_select_statement(Group, copy, Group, keys) for keys in (pks[1:3], pks[3::2], [])
    ]
    assert bulk.execute_all(statements) == 4
    assert names() == sorted(["g0", "g1", "g2", "g3", "g4", "g5", "g1+", "g2+", "g3+", "g5+"])


def test_any_of_finds_exactly_the_values_given_however_awkward():
    awkward = ['a"b', "c\\d", "e,f", "{g}", " h ", "", "NULL", "张三", "i'j"]
    for name in [*awkward, "other"]:
        Group.objects.create(name=name)
    found = Group.objects.filter(bulk.any_of("name", awkward)).values_list("name", flat=True)
    assert sorted(found) == sorted(awkward)
    ids = list(Group.objects.filter(name__in=awkward[:3]).values_list("id", flat=True))
    assert sorted(Group.objects.filter(bulk.any_of("id", ids)).values_list("id", flat=True)) == sorted(ids)


def test_constants_go_into_every_row_whatever_they_hold():
    """insert_rows' constants: on SQLite written into the statement as literals, quotes and all."""
    kind = ContentType.objects.get_for_model(Group)
    awkward = 'it\'s "quoted"; -- not SQL'
    bulk.insert_rows(
        Permission,
        ["codename"],
        [(f"code_{n}",) for n in range(700)],
        {"name": awkward, "content_type_id": kind.pk},
    )
    written = Permission.objects.filter(codename__startswith="code_")
    assert written.count() == 700
    assert set(written.values_list("name", "content_type_id")) == {(awkward, kind.pk)}


def test_sqlite_literals_refuse_what_they_cannot_write():
    assert [bulk.sqlite_literal(value) for value in (None, True, False, 3, 1.5, "a'b")] == [
        "NULL",
        "1",
        "0",
        "3",
        "1.5",
        "'a''b'",
    ]
    with pytest.raises(TypeError):
        bulk.sqlite_literal(b"bytes")
