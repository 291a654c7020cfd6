"""Excel machinery shared by every import and export.

- `open_table` streams the rows of an uploaded .xlsx (openpyxl read-only mode) and maps its Chinese
  headers to the columns an import expects. A file that cannot be used at all raises `BadFile` with one
  plain message: not an .xlsx, empty, required headers missing, no sheet carrying those headers.
- `RowErrors` collects the problems of single rows; `write_error_report` turns them into the .xlsx the
  user downloads (row number, column, reason).
- `write_xlsx` streams an export to a file in write-only mode, whatever its size.
- `from_process` runs the parsing of a large file in another process, beside the database work.
- `matching`, `new_ids` and `bulk_load` serve the write phase of large imports: one-array lookups
  (`= ANY`) on PostgreSQL, primary keys drawn in one query, COPY (executemany elsewhere).
"""

import multiprocessing
import secrets
import time
import traceback
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import batched
from operator import itemgetter
from pathlib import Path
from typing import IO

from django.db import connection
from django.db.models import F, Lookup, Q
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

MAX_ROWS = 200_000
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
PROGRESS_EVERY_ROWS = 1000
PROGRESS_EVERY_SECONDS = 0.5


class BadFile(Exception):
    """The file as a whole cannot be imported; `message` says why in plain words."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Column:
    """One column an import reads, found by its header text in the first row."""

    header: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    reason: str


@dataclass
class ImportOutcome:
    """What an import did: how many data rows it read, and either its errors or what it wrote."""

    rows: int
    errors: list[RowError] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)


class RowErrors:
    """Per-row problems found while validating; an import writes nothing while this is not empty."""

    def __init__(self, columns: Sequence[Column]):
        self._order = {c.header: i for i, c in enumerate(columns)}
        self._items: list[RowError] = []

    def add(self, row: int, column: str, reason: str) -> None:
        self._items.append(RowError(row, column, reason))

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def take(self) -> list[RowError]:
        """Hands over the errors collected so far (to another process) and forgets them."""
        items, self._items = self._items, []
        return items

    def extend(self, items: Iterable[RowError]) -> None:
        self._items.extend(items)

    def sorted(self) -> list[RowError]:
        return sorted(self._items, key=lambda e: (e.row, self._order.get(e.column, -1)))


def cell_text(value) -> str:
    """A cell's value as trimmed text: 101.0 becomes "101", a date becomes 2024-05-01."""
    if value is None:
        return ""
    if value.__class__ is str:
        return value.strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


def _header_text(value) -> str:
    text = cell_text(value).replace("\u3000", "").replace(" ", "")
    for mark in ("（必填）", "(必填)", "（选填）", "(选填)", "*", "＊"):
        text = text.replace(mark, "")
    return text


class Table:
    """The rows of one worksheet, streamed, with each row's values in the order of the import's columns."""

    def __init__(self, workbook, sheet, positions: list[int | None], on_progress: Callable | None):
        self._workbook = workbook
        self._sheet = sheet
        self.title: str = sheet.title
        self.total: int | None = sheet.max_row - 1 if sheet.max_row and sheet.max_row > 1 else None
        # A wrong <dimension> in the file must not cut the sheet short: read to its real end.
        sheet.reset_dimensions()
        self._width = max(p for p in positions if p is not None) + 1
        pad = self._width  # absent optional columns read from one padding cell past the end
        self._pick = itemgetter(*[pad if p is None else p for p in positions])
        self._single = len(positions) == 1
        self._on_progress = on_progress
        self.count = 0

    def __enter__(self) -> "Table":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._workbook.close()

    def rows(self) -> Iterator[tuple[int, tuple]]:
        """Yields (Excel row number, values) for every non-blank row below the header."""
        pick, pad, single = self._pick, (None,), self._single
        report, last = self._on_progress, time.monotonic()
        if report:
            report(0, self.total)
        number = 1
        for number, row in enumerate(self._raw_rows(), start=2):
            values = pick(row + pad)
            if single:
                values = (values,)
            if not any(values):
                continue
            self.count += 1
            if self.count > MAX_ROWS:
                raise BadFile(_("文件超过{n}行，请拆分成几个文件分批导入").format(n=MAX_ROWS))
            if report and self.count % PROGRESS_EVERY_ROWS == 0:
                now = time.monotonic()
                if now - last >= PROGRESS_EVERY_SECONDS:
                    report(self.count, None)
                    last = now
            yield number, values
        if self.count == 0:
            raise BadFile(_("工作表“{t}”中只有表头，没有数据行").format(t=self.title))
        if report:
            report(self.count, self.count)

    def _raw_rows(self) -> Iterator[tuple]:
        rows = self._sheet.iter_rows(min_row=2, max_col=self._width, values_only=True)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception:
                raise BadFile(
                    _("文件内容已损坏（约在第{n}行），请用 Excel 或 WPS 打开后重新保存为 .xlsx").format(
                        n=self.count + 2
                    )
                ) from None
            yield row


def _check_container(stream: IO[bytes]) -> None:
    head = stream.read(8)
    stream.seek(0)
    if not head:
        raise BadFile(_("上传的文件是空的"))
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise BadFile(_("这是旧版 .xls 文件，请在 Excel 或 WPS 中“另存为” .xlsx 格式后再上传"))
    if not head.startswith(b"PK"):
        raise BadFile(_("文件不是 Excel（.xlsx）格式，请使用导入模板填写后上传"))
    try:
        with zipfile.ZipFile(stream) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise BadFile(_("文件已损坏或不是 Excel（.xlsx）格式，请重新保存后上传")) from None
    finally:
        stream.seek(0)
    if unpacked > MAX_UNPACKED_BYTES:
        raise BadFile(_("文件内容过大，请拆分成几个文件分批导入"))


def _header_positions(sheet, columns: Sequence[Column]) -> tuple[list[int | None], list[str], int]:
    """Where each column sits in the first row, the required headers that are missing, and matches."""
    first = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), None) or ()
    found: dict[str, int] = {}
    for index, value in enumerate(first):
        text = _header_text(value)
        if text in found:
            raise BadFile(
                _("工作表“{t}”的表头“{h}”出现了两次，请删掉多余的一列").format(t=sheet.title, h=text)
            )
        if text:
            found[text] = index
    positions = [found.get(c.header) for c in columns]
    missing = [c.header for c in columns if c.required and c.header not in found]
    matched = sum(1 for p in positions if p is not None)
    return positions, missing, matched


def open_table(
    stream: IO[bytes],
    columns: Sequence[Column],
    *,
    what: str,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> Table:
    """Opens the sheet of a binary, seekable stream whose first row carries the required headers.

    `what` names the kind of file in messages ("党员名单"). `on_progress(rows_read, total)` is called
    now and then while rows are read; `total` is the sheet's own estimate, None when it has none.
    """
    _check_container(stream)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True, keep_links=False)
    except Exception:
        raise BadFile(_("文件已损坏或不是 Excel（.xlsx）格式，请重新保存后上传")) from None
    try:
        return _choose_sheet(workbook, columns, what, on_progress)
    except BaseException:
        workbook.close()
        raise


def _choose_sheet(workbook, columns, what, on_progress) -> Table:
    best: tuple[int, str, list[str]] | None = None
    for sheet in workbook.worksheets:
        positions, missing, matched = _header_positions(sheet, columns)
        if not missing:
            return Table(workbook, sheet, positions, on_progress)
        if best is None or matched > best[0]:
            best = (matched, sheet.title, missing)
    if best is not None and best[0] > 0:
        raise BadFile(
            _("工作表“{t}”缺少必填列：{m}。请使用{w}导入模板，第一行是表头").format(
                t=best[1], m="、".join(best[2]), w=what
            )
        )
    required = "、".join(c.header for c in columns if c.required)
    raise BadFile(
        _("没有找到第一行是“{h}”等表头的工作表，请确认上传的是{w}文件，表头在第一行").format(
            h=required, w=what
        )
    )


def _process_main(sender, target: str, args: tuple) -> None:
    import django

    django.setup()
    from django.utils.module_loading import import_string

    try:
        for item in import_string(target)(*args):
            sender.send(("item", item))
        sender.send(("end", None))
    except BadFile as exc:
        sender.send(("bad", exc.message))
    except BaseException:
        sender.send(("crash", traceback.format_exc()))
    finally:
        sender.close()


def from_process(target: str, *args) -> Iterator:
    """Runs the generator function at dotted path `target` in a fresh process and yields its items.

    Parsing a large sheet is the slowest part of an import and holds one CPU; in its own process it
    runs beside the database work instead of before it. A BadFile raised there is raised here.
    """
    context = multiprocessing.get_context("spawn")  # never fork a process holding database connections
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_process_main, args=(sender, target, args), daemon=True)
    process.start()
    sender.close()
    try:
        while True:
            try:
                kind, payload = receiver.recv()
            except EOFError:
                raise RuntimeError("the reader process ended without a word") from None
            if kind == "item":
                yield payload
            elif kind == "end":
                return
            elif kind == "bad":
                raise BadFile(payload)
            else:
                raise RuntimeError(f"the reader process failed:\n{payload}")
    finally:
        receiver.close()
        if process.is_alive():
            process.terminate()
        process.join()


def safe_row(sheet, row: Iterable) -> list:
    """A row for a write-only sheet with typed text kept as text: openpyxl stores a string that starts
    with "=" as a formula, so "=HYPERLINK(...)" typed in a visit would run when the file is opened
    (formula injection). Such values become string cells."""
    return [_text_cell(sheet, v) if isinstance(v, str) and v.startswith("=") else v for v in row]


def _text_cell(sheet, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def keep_text(cells: Iterable) -> None:
    """The same for cells already on a normal sheet: a formula inferred from typed text becomes text."""
    for cell in cells:
        if cell.data_type == "f":
            cell.data_type = "s"


def write_xlsx(
    dest: IO[bytes] | str | Path,
    *,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence],
    widths: Sequence[int] = (),
) -> int:
    """Writes one sheet in write-only mode (rows go to disk as they come); returns the row count."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    for index, width in enumerate(widths):
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    sheet.freeze_panes = "A2"
    sheet.append(list(header))
    count = 0
    for row in rows:
        sheet.append(safe_row(sheet, row))
        count += 1
    workbook.save(dest)
    return count


def write_error_report(dest: IO[bytes] | str | Path, errors: Iterable[RowError]) -> int:
    """The downloadable list of problems: Excel row number, column and the reason in plain words."""
    return write_xlsx(
        dest,
        title=_("错误报告"),
        header=[_("行号"), _("列"), _("问题")],
        rows=((e.row, e.column or _("整行"), e.reason) for e in errors),
        widths=(8, 12, 80),
    )


def write_template(dest: IO[bytes], *, title: str, columns: Sequence[Column], notes: Sequence[str]) -> None:
    """An empty import file: the header row on the data sheet, and a second sheet explaining it."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    for index in range(len(columns)):
        sheet.column_dimensions[get_column_letter(index + 1)].width = 16
    sheet.append([c.header for c in columns])
    help_sheet = workbook.create_sheet(_("填写说明"))
    help_sheet.column_dimensions["A"].width = 100
    for line in notes:
        help_sheet.append([line])
    workbook.save(dest)


# --- the write phase of large imports -------------------------------------------------------------


class AnyOf(Lookup):
    """`column = ANY(%s)` with every value in one array parameter (PostgreSQL).

    A 100,000-item `IN (%s, %s, ...)` costs seconds in client-side query building; one array does not.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*params, list(self.rhs))


def matching(field: str, values: Iterable) -> Iterator[Q | AnyOf]:
    """Filters selecting rows whose `field` is one of `values`: one on PostgreSQL, batches elsewhere."""
    values = list(values)
    if not values:
        return
    if connection.vendor == "postgresql":
        yield AnyOf(F(field), values)
        return
    for chunk in in_batches(values):
        yield Q(**{f"{field}__in": chunk})


def in_batches(values: Iterable, size: int = 20_000) -> Iterator[list]:
    """Splits the values of an `__in` lookup so that no query passes the database's parameter limit."""
    limit = connection.features.max_query_params
    if limit:
        size = min(size, limit - 100)
    for chunk in batched(values, size):
        yield list(chunk)


def db_now():
    """The current time, ready to be written by `bulk_load`."""
    from django.utils import timezone

    return connection.ops.adapt_datetimefield_value(timezone.now())


def new_ids(table: str, count: int) -> list[int]:
    """Primary keys for `count` rows about to be inserted by `bulk_load`, taken in one query.

    PostgreSQL draws them from the table's sequence; SQLite continues after the largest id ever given
    (the caller's transaction holds SQLite's write lock, so nobody else can take them meanwhile).
    """
    if count == 0:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [pk for (pk,) in cursor.fetchall()]
        quoted = connection.ops.quote_name(table)
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {quoted}")  # noqa: S608
        top = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        seq = cursor.fetchone()
        start = max(top, seq[0] if seq else 0) + 1
        return list(range(start, start + count))


def bulk_load(table: str, columns: Sequence[str], rows: Iterable[Sequence], *, on_conflict: str = "") -> None:
    """Inserts prepared rows (values already in database form) without building a model per row.

    PostgreSQL receives them through COPY (into a temporary table first when `on_conflict` is given,
    e.g. "ON CONFLICT (id_number_digest) DO UPDATE SET ..."); other databases through executemany.
    Table and column names come from model metadata, never from the file. `rows` may be a generator,
    but must not query the database while it is consumed (the connection is busy with COPY).
    """
    assert connection.in_atomic_block, "bulk_load must run inside the import's transaction"
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({marks}) {on_conflict}"  # noqa: S608
            for chunk in batched(rows, 5000):
                cursor.executemany(sql, chunk)
            return
        target = quote(table)
        if on_conflict:
            target = quote(f"import_stage_{secrets.token_hex(6)}")
            stage = f"CREATE TEMP TABLE {target} ON COMMIT DROP AS SELECT {names} FROM {quote(table)}"  # noqa: S608
            cursor.execute(f"{stage} WITH NO DATA")
        with cursor.cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if on_conflict:
            cursor.execute(
                f"INSERT INTO {quote(table)} ({names}) SELECT {names} FROM {target} {on_conflict}"  # noqa: S608
            )
            cursor.execute(f"DROP TABLE {target}")
