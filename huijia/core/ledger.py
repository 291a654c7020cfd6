"""The paper ledgers (台账) a community office files, generated from records as Excel workbooks.

A ledger is one sheet laid out as offices print them: a title row ("XX小区入户走访台账（2026年11月）"),
a line saying whose and which month, the header, the numbered rows with borders, and the signature
line (填表人、审核人、填表日期). Printed landscape on A4, fitted to the page width, header repeated.

Who may download the ledgers of an estate: whoever holds Perm.EXPORT or Perm.MANAGE_CARE over it
(community staff, the estate's branch secretary, street and district staff).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import IO

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, restrict
from huijia.core.errors import Forbidden, InvalidInput, NotFound
from huijia.core.excel import keep_text
from huijia.grid.models import Area, AreaKind

LEDGER_PERMS = (Perm.EXPORT, Perm.MANAGE_CARE)
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
DATE_FORMAT = 'yyyy"年"m"月"d"日"'


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, value: str) -> "Month":
        """ "2026-11" -> Month(2026, 11); anything else is a clear error."""
        try:
            year, month = (int(part) for part in (value or "").split("-"))
            date(year, month, 1)
        except (TypeError, ValueError):
            raise InvalidInput(
                _("请选择月份（例如 2026-11）"), code="bad_month", fields={"month": [_("请选择月份")]}
            ) from None
        return cls(year, month)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        following = date(self.year + self.month // 12, self.month % 12 + 1, 1)
        return following - timedelta(days=1)

    @property
    def label(self) -> str:
        return _("{y}年{m}月").format(y=self.year, m=self.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def can_download(actor: Actor, estate: Area) -> bool:
    return any(actor.covers(perm, estate.path) for perm in LEDGER_PERMS)


def estate_for_ledger(*, actor: Actor, estate_id: int) -> Area:
    """The estate whose ledgers the actor may download; Forbidden if they only see it, else NotFound."""
    estates = Area.objects.filter(pk=estate_id, kind=AreaKind.ESTATE).select_related("parent")
    estate = restrict(estates, actor).first()
    if estate is None:
        raise NotFound()
    if not can_download(actor, estate):
        raise Forbidden(_("台账由社区党委和小区党支部书记下载"))
    return estate


def ledger_estates(*, actor: Actor) -> list[Area]:
    """Estates whose ledgers the actor may download, for the console's picker (1 query)."""
    paths = sorted({p for perm in LEDGER_PERMS for p in actor.paths(perm)})
    qs = Area.objects.filter(kind=AreaKind.ESTATE).select_related("parent").order_by("path")
    if actor.is_superuser:
        return list(qs)
    if not paths:
        return []
    q = Q()
    for path in paths:
        q |= Q(path__startswith=path)
    return list(qs.filter(q))


def write_ledger(
    dest: IO[bytes] | str | Path,
    *,
    sheet_title: str,
    title: str,
    info: str,
    header: Sequence[str],
    rows: Iterable[Sequence],
    widths: Sequence[int],
    date_columns: Sequence[int] = (),
) -> int:
    """Writes a ledger sheet: title, info line, header (row 3), numbered rows, signature line."""
    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title[:31]
    last = get_column_letter(len(header))
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"] = title
    sheet["A1"].font = Font(size=16, bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center", vertical="center")
    sheet.row_dimensions[1].height = 32
    sheet.merge_cells(f"A2:{last}2")
    sheet["A2"] = info
    sheet["A2"].alignment = Alignment(horizontal="left", vertical="center")
    sheet.append(list(header))
    for cell in sheet[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.fill = PatternFill("solid", fgColor="EDEDED")
        cell.border = BORDER
    sheet.row_dimensions[3].height = 30
    count = 0
    wrap = Alignment(vertical="center", wrap_text=True)
    centred = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for count, row in enumerate(rows, start=1):
        sheet.append([count, *row])
        keep_text(sheet[sheet.max_row])  # typed text is never a formula
        for index, cell in enumerate(sheet[sheet.max_row]):
            cell.border = BORDER
            cell.alignment = centred if index == 0 or index in date_columns else wrap
            if index in date_columns and isinstance(cell.value, date):
                cell.number_format = DATE_FORMAT
    footer = sheet.max_row + 2
    sheet.merge_cells(f"A{footer}:{last}{footer}")
    today = timezone.localdate()
    sheet[f"A{footer}"] = _("填表人：              审核人：              填表日期：{y}年{m}月{d}日").format(
        y=today.year, m=today.month, d=today.day
    )
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A4"
    sheet.print_title_rows = "3:3"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    book.save(dest)
    return count
