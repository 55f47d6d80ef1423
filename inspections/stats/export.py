"""Tables as CSV and XLSX, with the numbers the page shows (the same `Table` objects).

CSV: UTF-8 with a byte-order mark (so Excel on a Chinese Windows opens it as UTF-8), one block
per table — its title, its header, its rows — separated by an empty line. XLSX: a sheet per
table (openpyxl's write-only mode, so a long drill-down list streams), numbers as numbers,
and a first sheet saying what the file is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from credit.stats.periods import LOCAL_ZONE
from inspections.stats.tables import Table

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_NAME_LIMIT = 31  # Excel refuses longer sheet names
_SHEET_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})
BOM = "\ufeff"


def plain(value):
    """A cell's value for a file: numbers stay numbers, dates ISO, None an empty cell."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def tables_csv(tables: Sequence[Table], *, heading: Sequence[str]) -> bytes:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    for line in heading:
        writer.writerow([line])
    for table in tables:
        writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow([plain(cell.value) for cell in row])
    return out.getvalue().encode("utf-8")


def tables_xlsx(tables: Sequence[Table], *, heading: Sequence[str]) -> bytes:
    book = Workbook(write_only=True)
    about = book.create_sheet(sheet_name(heading[0] if heading else "说明", set()))
    for line in heading:
        about.append([line])
    taken = {about.title}
    for table in tables:
        sheet = book.create_sheet(sheet_name(table.title, taken))
        taken.add(sheet.title)
        _write_rows(sheet, table.columns, ([c.value for c in row] for row in table.rows))
        if table.note:
            sheet.append([])
            sheet.append([table.note])
    return _saved(book)


def rows_csv(columns: Sequence[str], rows: Iterable[Sequence]) -> Iterator[bytes]:
    """A drill-down list as CSV, streamed a row at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(columns)
    yield _take(buffer)
    for row in rows:
        writer.writerow([plain(value) for value in row])
        yield _take(buffer)


def rows_xlsx(title: str, columns: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_name(title, set()))
    _write_rows(sheet, columns, rows)
    return _saved(book)


def sheet_name(title: str, taken: set[str]) -> str:
    base = title.translate(_SHEET_FORBIDDEN)[:SHEET_NAME_LIMIT] or "Sheet"
    name, number = base, 2
    while name in taken:
        suffix = f" ({number})"
        name, number = base[: SHEET_NAME_LIMIT - len(suffix)] + suffix, number + 1
    return name


def _write_rows(sheet, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append([_xlsx_value(value) for value in row])


def _xlsx_value(value):
    if value is None:
        return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        # Excel has no time zones: write the local wall time the page shows.
        return value.astimezone(LOCAL_ZONE).replace(tzinfo=None)
    return value


def _saved(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _take(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data
