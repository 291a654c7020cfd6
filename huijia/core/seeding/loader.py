"""Writes a generated world into the database: COPY on PostgreSQL, batched INSERTs elsewhere.

On PostgreSQL the load works like pg_restore: foreign keys, unique constraints and secondary indexes of
the seeded tables are dropped, the rows are copied, then everything is rebuilt in one pass (and so
checked: a duplicate or a dangling id fails the load). It all happens in one transaction, so a failed
seed leaves the database as it was. Building the indexes after the COPY is about three times faster
than maintaining them row by row, and checking a foreign key once per table instead of once per row
saves more still (1,000,000 households: 12 s row by row, under 4 s this way).
"""

import gc
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from itertools import batched
from typing import TextIO

from django.apps import apps
from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, models, transaction

from huijia.core.crypto import blind_index
from huijia.core.seeding import demands, volunteering
from huijia.core.seeding.generator import Scale, Table, World, generate, identities
from huijia.core.seeding.pii import Encryption
from huijia.demands.catalogue import ensure_categories
from huijia.demands.models import Category, Demand, DemandRollup
from huijia.grid.models import Area, Household, Resident
from huijia.members.models import Member, Registration, Skill
from huijia.orgs.models import PartyOrg, WorkUnit

SEEDED_MODELS = (
    Area,
    Household,
    Resident,
    WorkUnit,
    PartyOrg,
    Skill,
    Member,
    Registration,
    Demand,
    DemandRollup,
)
BATCH = 5_000


class Progress:
    """A one-line progress bar per table on stderr (redrawn in place on a terminal)."""

    def __init__(self, stream: TextIO, label: str, total: int, width: int = 28) -> None:
        self.stream, self.label, self.total, self.width = stream, label, total, width
        self.done = 0
        self.started = self._last = time.perf_counter()
        self.live = stream.isatty()

    def advance(self, rows: int) -> None:
        self.done += rows
        now = time.perf_counter()
        if self.live and now - self._last > 0.1:
            self._last = now
            self.stream.write("\r" + self._line())
            self.stream.flush()

    def finish(self) -> float:
        elapsed = time.perf_counter() - self.started
        self.stream.write(("\r" if self.live else "") + self._line() + f"  {elapsed:6.1f} s\n")
        self.stream.flush()
        return elapsed

    def _line(self) -> str:
        filled = self.width if not self.total else self.width * self.done // self.total
        bar = "█" * filled + "░" * (self.width - filled)
        return f"  {self.label:<28} {bar} {self.done:>10,}/{self.total:,}"


def has_data() -> bool:
    """Whether any of the tables the seed fills already holds rows."""
    return any(model.objects.exists() for model in SEEDED_MODELS)


def flush() -> None:
    """Empties every huijia table (users included) and restarts their ids, as `flush` does."""
    tables = {
        model._meta.db_table
        for config in apps.get_app_configs()
        if config.name.startswith("huijia.")
        for model in config.get_models(include_auto_created=True)
    } & set(connection.introspection.table_names())
    statements = connection.ops.sql_flush(
        no_style(), sorted(tables), reset_sequences=True, allow_cascade=True
    )
    with connection.cursor() as cursor:
        _settle_deferred_checks(cursor)
        for sql in statements:
            cursor.execute(sql)


def build(scale: Scale, *, now: datetime, stderr: TextIO = sys.stderr, workers: int | None = None) -> World:
    """Plans and writes a world for `scale` into empty tables; call inside a transaction.

    The phone and ID numbers are encrypted in worker processes (one per core) while the main process
    plans the world and writes areas and households; the members' rows wait for them.
    """
    with _no_cyclic_gc():
        return _build(scale, now=now, stderr=stderr, workers=workers)


@contextmanager
def _no_cyclic_gc():
    """Millions of new rows and no cycles among them: the cyclic collector would walk the whole growing
    heap again and again (it doubled the time to plan a city's demands)."""
    was_enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def _build(scale: Scale, *, now: datetime, stderr: TextIO, workers: int | None) -> World:
    started = time.perf_counter()
    plaintexts = identities(scale)
    encryption = Encryption(settings.HUIJIA_DATA_KEYS[0], plaintexts, workers)
    try:
        world = generate(scale, now=now, plaintexts=plaintexts)
        stderr.write(f"  {'plan':<28} {time.perf_counter() - started:.1f} s\n")
        started = time.perf_counter()
        volunteering.plan_pairings(world)
        demands.plan(world, categories())
        stderr.write(f"  {'plan demands':<28} {time.perf_counter() - started:.1f} s\n")
        started = time.perf_counter()
        volunteer_tables = volunteering.plan(world)
        stderr.write(f"  {'plan volunteer service':<28} {time.perf_counter() - started:.1f} s\n")
        world.counts = load(world, encryption=encryption, stderr=stderr, extra=volunteer_tables)
    finally:
        encryption.close()
    return world


def categories() -> list[demands.CategoryInfo]:
    """The demand categories (the default list, recreated if a flush emptied it)."""
    ensure_categories()
    rows = Category.objects.filter(active=True).values_list("pk", "code", "respond_hours", "resolve_hours")
    return [demands.CategoryInfo(*row) for row in rows]


def load(
    world: World,
    *,
    encryption: Encryption | None = None,
    stderr: TextIO = sys.stderr,
    extra: list[Table] | None = None,
) -> dict[str, int]:
    """Writes `world` (and the `extra` tables after it) into empty tables in one transaction; returns
    rows written per table."""
    encryption = encryption or Encryption(settings.HUIJIA_DATA_KEYS[0], world.plaintexts, 1)
    tables = [*world.tables(encryption.result, blind_index), *(extra or [])]
    with transaction.atomic(), connection.cursor() as cursor:
        counts = _write_all(cursor, tables, stderr)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t.label) for t in tables))
    return counts


def _write_all(cursor, tables: list[Table], stderr: TextIO) -> dict[str, int]:
    postgres = connection.vendor == "postgresql"
    restore: list[str] = []
    if postgres:
        _settle_deferred_checks(cursor)
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
        restore = _drop_secondary(cursor, [t.label for t in tables])
    counts = {}
    for table in tables:
        progress = Progress(stderr, table.label, table.total)
        counts[table.label] = (_copy if postgres else _insert)(cursor, table, progress)
        progress.finish()
    if restore:
        progress = Progress(stderr, "indexes and constraints", len(restore))
        for sql in restore:
            cursor.execute(sql)
            progress.advance(1)
        progress.finish()
    seeded = [t.model for t in tables]
    for sql in connection.ops.sequence_reset_sql(no_style(), seeded):
        cursor.execute(sql)
    if postgres:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # back to Django's INITIALLY DEFERRED
    return counts


def _settle_deferred_checks(cursor) -> None:
    """Runs the foreign-key checks still pending in this transaction (PostgreSQL refuses to TRUNCATE or
    ALTER a table that has some, e.g. after earlier writes in the same transaction)."""
    if connection.vendor == "postgresql":
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _copy(cursor, table: Table, progress: Progress) -> int:
    columns = ", ".join(connection.ops.quote_name(c) for c in _columns(table))
    sql = f"COPY {connection.ops.quote_name(table.label)} ({columns}) FROM STDIN"
    written = 0
    with cursor.cursor.copy(sql) as copy:  # the psycopg cursor under Django's wrapper
        for batch in batched(table.rows, BATCH):
            for row in batch:
                copy.write_row(row)
            written += len(batch)
            progress.advance(len(batch))
    return written


def _insert(cursor, table: Table, progress: Progress) -> int:
    columns = _columns(table)
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - quoted names from model metadata
        connection.ops.quote_name(table.label),
        ", ".join(connection.ops.quote_name(c) for c in columns),
        ", ".join(["%s"] * len(columns)),
    )
    adapt = _adapters(table)
    written = 0
    for batch in batched(table.rows, BATCH):
        cursor.executemany(sql, [adapt(row) for row in batch] if adapt else batch)
        written += len(batch)
        progress.advance(len(batch))
    return written


def _columns(table: Table) -> list[str]:
    return [table.model._meta.get_field(name).column for name in table.fields]


def _adapters(table: Table):
    """Converts datetimes the way the ORM stores them on this backend (SQLite keeps naive UTC text)."""
    fields = [table.model._meta.get_field(name) for name in table.fields]
    positions = [i for i, f in enumerate(fields) if isinstance(f, models.DateTimeField)]
    if not positions:
        return None
    to_db = connection.ops.adapt_datetimefield_value

    def adapt(row: tuple) -> tuple:
        values = list(row)
        for i in positions:
            values[i] = to_db(values[i])
        return tuple(values)

    return adapt


_CONSTRAINTS = """
    SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
    FROM pg_constraint c
    WHERE c.conrelid = ANY(%s::regclass[])
      AND (c.contype = 'f' OR (c.contype = 'u' AND NOT EXISTS (
            SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = c.conindid)))
    ORDER BY c.contype DESC, c.conname
"""
_INDEXES = """
    SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
    FROM pg_index i
    WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
"""


def _drop_secondary(cursor, tables: list[str]) -> list[str]:
    """Drops foreign keys, unique constraints and indexes (never primary keys) of `tables`; returns the
    statements that recreate them: indexes first, then unique constraints, then foreign keys."""
    quote = connection.ops.quote_name
    cursor.execute(_CONSTRAINTS, [tables])
    constraints = cursor.fetchall()  # unique ('u') before foreign keys ('f')
    for table, name, _definition in reversed(constraints):
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
    cursor.execute(_INDEXES, [tables])
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in indexes] + [
        f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}"
        for table, name, definition in constraints
    ]
