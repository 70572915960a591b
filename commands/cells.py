"""Files in, files out: a CSV or XLSX file as a table of strings, and its cells as values.

A cell is read the way a person would type it in a slash command (:mod:`commands.values`):
amounts ``759만원``, ``1억 2천만``, ``$12,000``, ``12000000``; dates ``2026-12-31``,
``2026. 12. 31.``, ``12/31``. A cell that does not read becomes a :class:`CellError` naming
its row (as the spreadsheet numbers it: the header is row 1) and column, with the same
catalog key the slash command would answer, so the reason reads the same in both places.
References that need the database (owners, stages, pipelines) stay text here; the domain
resolves them (:mod:`domain.imports`).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from commands import field_values
from commands.values import parse_amount, parse_date, parse_email
from domain.errors import InvalidInput, SalesbotError
from domain.fields import CellError, FieldSpec, ParsedRow, cell

MAX_FILE = 10 * 1024 * 1024  # bytes: the Slack modal's limit, and the CLI's
_LIMITS = {
    **{"external_id": 100, "lost_reason": 500, "email": 320, "phone": 64, "source": 100},
    "notes": 2000,  # an inbound lead's message (commands.inbound_fields)
}
_CURRENCY = re.compile(r"[A-Za-z]{3}")


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]  # rows[i] is the file's row i + 2


# --- reading files --------------------------------------------------------------------------


def read_table(data: bytes, filename: str = "") -> Table:
    """The file's first sheet (XLSX) or its rows (CSV, UTF-8 or Excel's CP949), blank rows
    dropped. Refused with ``import.bad_file`` when it is neither, or has no header row."""
    if len(data) > MAX_FILE:
        raise InvalidInput("import.too_big", limit="10 MB")
    if data[:2] == b"PK" or filename.lower().endswith((".xlsx", ".xlsm")):
        rows = _xlsx_rows(data)
    else:
        try:
            rows = list(csv.reader(io.StringIO(_decode(data))))
        except csv.Error as exc:  # a field over csv's limit, a stray quote at the end …
            raise InvalidInput("import.bad_file") from exc
    rows = [[(c or "").strip() for c in row] for row in rows]
    while rows and not any(rows[0]):
        rows.pop(0)
    if not rows:
        raise InvalidInput("import.empty_file")
    headers = rows[0]
    body = [r + [""] * (len(headers) - len(r)) for r in rows[1:]]
    return Table(headers=headers, rows=[r for r in body if any(r)])


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("import.bad_file")


def _xlsx_rows(data: bytes) -> list[list[str]]:
    import openpyxl  # only imports read spreadsheets; keep it off the app's start-up

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML or openpyxl's own: the file is not a workbook
        raise InvalidInput("import.bad_file") from exc
    sheet = book.worksheets[0]
    rows = [[_xlsx_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    book.close()
    return rows


def _xlsx_text(value) -> str:
    """A spreadsheet value as the text it shows: whole numbers without ``.0``, dates ISO."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return cell(value)


def write_table(headers: list[str], rows: list[list[str]], fmt: str) -> bytes:
    """CSV (UTF-8 with a BOM, so Excel opens Korean text right) or XLSX, every cell text."""
    if fmt == "xlsx":
        import openpyxl

        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(headers)
        for row in rows:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- reading cells --------------------------------------------------------------------------


def parse_rows(
    table: Table,
    mapping: dict[int, FieldSpec],
    *,
    today: date,
    timezone: str,
) -> tuple[list[ParsedRow], list[CellError]]:
    """Every row's mapped cells as values, and every cell that does not read."""
    parsed, errors = [], []
    tz = ZoneInfo(timezone)
    seen: dict[tuple[str, str], dict[str, Any] | SalesbotError] = {}  # a column repeats values
    for offset, raw in enumerate(table.rows):
        number = offset + 2
        values: dict[str, Any] = {}
        for index, spec in mapping.items():
            text = raw[index] if index < len(raw) else ""
            header = table.headers[index]
            read = seen.get((spec.key, text))
            if read is None:
                try:
                    read = _read(spec, text, today=today, tz=tz)
                except SalesbotError as exc:
                    read = exc
                if len(seen) < 100_000:
                    seen[(spec.key, text)] = read
            if isinstance(read, SalesbotError):
                errors.append(CellError(number, header, read.key, dict(read.params)))
                continue
            values.update(read)
            if spec.required and values.get(spec.key) is None:
                errors.append(CellError(number, header, "import.required", {}))
        marked = values.get("amount_currency")
        if marked and values.get("currency") and marked != values["currency"]:
            column = _column(table, mapping, "amount")
            errors.append(CellError(number, column, "import.currency_conflict", {}))
        parsed.append(ParsedRow(number, values))
    return parsed, errors


def _column(table: Table, mapping: dict[int, FieldSpec], key: str) -> str:
    return next(table.headers[i] for i, s in mapping.items() if s.key == key)


def _read(spec: FieldSpec, text: str, *, today: date, tz: ZoneInfo) -> dict[str, Any]:
    text = text.strip()
    if not text:
        return {spec.key: None}
    kind = spec.kind
    if kind.startswith("custom:"):  # a custom field (issue 15): read as /deal set reads it
        return {spec.key: field_values.read_kind(kind[7:], spec.ko, text, today=today, cell=True)}
    if kind == "money":
        amount = parse_amount(text)
        if amount.value < 0:
            raise InvalidInput("deal.bad_amount", value=text)
        return {spec.key: amount.value, "amount_currency": amount.currency}
    if kind == "currency":
        if not _CURRENCY.fullmatch(text):
            raise InvalidInput("import.bad_currency", value=text)
        return {spec.key: text.upper()}
    if kind == "int":
        digits = text.replace(",", "")
        if not digits.isdigit() or len(digits) > 9:
            raise InvalidInput("import.bad_number", value=text)
        return {spec.key: int(digits)}
    if kind == "date":
        return {spec.key: parse_date(text, today=today)}
    if kind == "datetime":
        return {spec.key: _datetime(text, today=today, tz=tz)}
    if kind == "email":
        return {spec.key: parse_email(text)}
    limit = _LIMITS.get(spec.key, _LIMITS.get(kind, 200))
    if len(text) > limit:
        raise InvalidInput("import.too_long", limit=limit)
    if "\x00" in text:
        raise InvalidInput("import.bad_text")
    return {spec.key: text}


def _datetime(text: str, *, today: date, tz: ZoneInfo) -> datetime:
    """ISO date-times (naive ones in the workspace's zone); a plain day is its midnight."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        day = parse_date(text, today=today)
        moment = datetime.combine(day, time(0))
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)
