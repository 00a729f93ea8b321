"""Read a partner file into a frame of text cells, keeping the row numbers the user sees.

Every reader returns ``(headers, frame)``: ``frame`` holds one string column per header (empty
cells as "") plus ``_row`` (``data.cells.ROW_COLUMN``), the row number as shown in the file (the
header is row 1 of a CSV or spreadsheet; in Parquet, record 1 is row 1). Anything that is not a
readable CSV (UTF-8 with or without BOM, or Windows-1252), XLSX (``data.xlsx``) or (Geo)Parquet
raises ``FileFormatError`` naming the file and, where there is one, the row.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from core.csv_safety import ESCAPED_CELL
from core.errors import ConfigError, FileFormatError, Problem
from data.cells import ROW_COLUMN, cell_text
from data.xlsx import read_xlsx

MAX_FILE_BYTES = 512 * 1024 * 1024
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")
_XLSX_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # password-protected workbooks and old .xls
_HTML_START = re.compile(r"\s*<(?:!doctype\s+html|html|table)\b", re.IGNORECASE)
_PARQUET_MAGIC = b"PAR1"


def read_partner_file(path: str | Path, *, sheet: str | None = None
                      ) -> tuple[list[str], pd.DataFrame]:
    """Read a CSV, XLSX or GeoParquet partner file (chosen by content, then by extension).

    ``sheet`` names the sheet of a workbook to read (``data.xlsx``); it is refused for any
    other kind of file.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FileFormatError(path, [Problem(None, None, None, f"cannot open the file: {exc.strerror}")])
    if size == 0:
        raise FileFormatError(path, [Problem(None, None, None, "the file is empty (0 bytes)")])
    if size > MAX_FILE_BYTES:
        raise FileFormatError(path, [Problem(None, None, None,
                              f"the file is {size / 2**20:,.0f} MiB; the limit is "
                              f"{MAX_FILE_BYTES / 2**20:,.0f} MiB: split it")])
    with open(path, "rb") as handle:
        head = handle.read(8)
    suffix = path.suffix.lower()
    if head[:4] == _XLSX_MAGIC:
        return read_xlsx(path, sheet)
    if sheet is not None:
        raise ConfigError(f"{path}: --sheet is for XLSX workbooks; this file is not one")
    if head[:4] == _PARQUET_MAGIC:
        return _read_parquet(path)
    if head == _OLE2_MAGIC:
        raise FileFormatError(path, [Problem(None, None, None,
                              "a password-protected (encrypted) workbook or an old-style .xls "
                              "file: remove the password and save it as .xlsx or 'CSV UTF-8'")])
    if suffix in (".xlsx", ".parquet", ".geoparquet"):
        raise FileFormatError(path, [Problem(None, None, None,
                              f"the name ends {suffix} but the content is not a valid {suffix[1:]} "
                              "file (damaged, or a CSV renamed?)")])
    return _read_csv(path)


# -- CSV -------------------------------------------------------------------------------------
def _read_csv(path: Path) -> tuple[list[str], pd.DataFrame]:
    raw = path.read_bytes()
    _refuse_binary(path, raw)
    # ASCII bytes are that text in UTF-8 and in Windows-1252 alike: the header is read from
    # its own line and the whole text is decoded only if the row-by-row reader needs it
    # (decoding a 43 MB file twice, as before, cost some 0.05-0.1 s of CPU and 43 MB).
    plain_ascii = raw.isascii()
    text = None if plain_ascii else _decode(path, raw)
    if plain_ascii:  # the header's line (the whole text if it is the only line), 1 kB at least
        newline = raw.find(b"\n")
        head = raw[:max(1024, newline + 1)].decode("ascii") if newline >= 0 else \
            raw.decode("ascii")
    else:
        head = text
    if _HTML_START.match(head[:1024]):
        raise FileFormatError(path, [Problem(None, None, None,
                              "the file is a web page (HTML), not CSV: a page saved from a "
                              "browser, or a system's 'Excel' export that is really HTML. Open it "
                              "in Excel and save it as 'CSV UTF-8'")])
    csv.field_size_limit(1_000_000)
    headers = _plain_header(head)
    if headers is not None:  # a plain header: no need to wrap the whole text for csv
        body = _fast_csv_body(raw, headers)
        if body is not None:
            return _drop_blank_columns(headers, body)
    if text is None:
        text = raw.decode("ascii")
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        headers = next(rows)
    except StopIteration:
        raise FileFormatError(path, [Problem(None, None, None, "the file has no header row")])
    except csv.Error as exc:
        raise FileFormatError(path, [Problem(1, None, None, f"the header cannot be parsed: {exc}")])
    _check_delimiter(path, headers)
    body = _fast_csv_body(raw, headers) if rows.line_num == 1 else None
    if body is None:  # anything unusual: the row-by-row reader, which says what is wrong
        body = _csv_body(path, rows, headers)
    return _drop_blank_columns(headers, body)


def _plain_header(text: str) -> list[str] | None:
    """The header's cells when its line is plain (no quote, no CR but a final CRLF, at least two
    cells), where splitting at commas is what ``csv.reader`` does; else ``None``."""
    end = text.find("\n")
    line = text[:end] if end >= 0 else text
    line = line.removesuffix("\r")
    if '"' in line or "\r" in line or "," not in line:
        return None
    return line.split(",")


def _drop_blank_columns(headers: list[str], frame: pd.DataFrame):
    """Drop columns with no header and no values (trailing commas from spreadsheet exports).

    A column with no header but with values is kept, so the contract check refuses it.
    """
    keep = [i for i, h in enumerate(headers)
            if h.strip() or (frame.iloc[:, i].astype(str).str.strip() != "").any()]
    if len(keep) == len(headers):
        return headers, frame
    return [headers[i] for i in keep], frame.iloc[:, keep + [len(headers)]]


def _refuse_binary(path: Path, raw: bytes) -> None:
    sample = raw[:65536]
    if b"\x00" in sample:
        offset = sample.index(b"\x00")
        hint = " (UTF-16 text? save it as UTF-8 CSV)" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise FileFormatError(path, [Problem(None, None, None,
                              f"binary content, not a CSV file: NUL byte at offset {offset}{hint}")])
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    if controls > len(sample) // 100:
        raise FileFormatError(path, [Problem(None, None, None,
                              f"binary content, not a CSV file: {controls} control bytes in the "
                              f"first {len(sample):,} bytes")])


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = raw.count(b"\n", 0, exc.start) + 1
    utf8_line = _first_utf8_line(raw, bad_line)
    if utf8_line is not None:
        # Valid UTF-8 text on one row and bytes that are not UTF-8 on another: two encodings.
        raise FileFormatError(path, [Problem(bad_line, None, None,
                              f"mixed text encodings: row {utf8_line} is UTF-8 but row {bad_line} "
                              "is not. Re-save the whole file as UTF-8 CSV")])
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is None or _looks_double_byte(raw):
        raise FileFormatError(path, [Problem(bad_line, None, None,
                              f"row {bad_line} is not UTF-8 or Windows-1252 text (another "
                              "encoding, such as GB18030, Shift-JIS or Big5?): save the file as "
                              "UTF-8 ('CSV UTF-8' in Excel)")])
    return text


def _first_utf8_line(raw: bytes, bad_line: int, limit: int = 10_000) -> int | None:
    """The first row, other than ``bad_line``, holding non-ASCII text that is valid UTF-8.

    A byte pair of another multi-byte encoding (GB18030, ...) can look like UTF-8 on its own,
    so a row counts only if the whole row decodes as UTF-8. At most ``limit`` rows are tried.
    """
    tried = set()
    for match in _UTF8_MULTIBYTE.finditer(raw):
        start = raw.rfind(b"\n", 0, match.start()) + 1
        if start in tried:
            continue
        if len(tried) >= limit:
            return None
        tried.add(start)
        end = raw.find(b"\n", match.end())
        line = raw[start:end if end >= 0 else len(raw)]
        number = raw.count(b"\n", 0, start) + 1
        if number == bad_line:
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        return number
    return None


def _looks_double_byte(raw: bytes) -> bool:
    """Whether the non-ASCII bytes come mostly in runs, as in a double-byte encoding (GB18030,
    Shift-JIS, Big5, EUC-KR). Windows-1252 text has single accented letters and quotes."""
    high = sum(1 for b in raw if b >= 0x80) if len(raw) < 1 << 20 else \
        len(re.findall(rb"[\x80-\xff]", raw))
    if high < 4:
        return False
    in_runs = sum(len(run) for run in re.findall(rb"[\x80-\xff]{2,}", raw))
    return in_runs > high / 2


def _check_delimiter(path: Path, headers: list[str]) -> None:
    if len(headers) != 1:
        return
    for delimiter, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
        if delimiter in headers[0]:
            raise FileFormatError(path, [Problem(1, None, None,
                                  f"the file looks {name}-separated; the contract expects "
                                  "comma-separated values (save as 'CSV (Comma delimited)')")])


def _csv_body(path: Path, rows, headers: list[str]) -> pd.DataFrame:
    width = len(headers)
    records, numbers, problems = [], [], []
    line = 1
    try:
        for record in rows:
            start, line = line + 1, rows.line_num
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank line
            if len(record) != width:
                hint = (" (a quote that is never closed?)" if any("\n" in f for f in record)
                        else " (truncated row?)" if len(record) < width
                        else " (an unquoted comma?)")
                problems.append(Problem(start, None, None, f"has {len(record)} fields but the "
                                                           f"header has {width}{hint}"))
                continue
            records.append(record)
            numbers.append(start)
    except csv.Error as exc:
        problems.append(Problem(rows.line_num, None, None, f"cannot be parsed as CSV: {exc}"))
    if problems:
        raise FileFormatError(path, problems, headline="the file is not well-formed CSV; nothing "
                                                      "was stored")
    frame = pd.DataFrame(records, columns=range(width), dtype=object) if records else \
        pd.DataFrame(columns=range(width), dtype=object)
    frame.columns = headers
    frame[ROW_COLUMN] = numbers
    return _unescape(frame)


#: The cells' Arrow type as Arrow reads them: pandas' Arrow-backed text holds ``large_string``,
#: so cells read as ``string`` were cast, column by column, on the first thread at the end of
#: the read (NRM: 11 columns, 0.02-0.05 s, on the ingest's critical path); read as
#: ``large_string`` they are wrapped as they are (the same values and chunks).
CELL_TYPE = pa.large_string()


def _fast_csv_body(raw: bytes, headers: list[str]) -> pd.DataFrame | None:
    """The body of a plain UTF-8 CSV read by Arrow's C++ parser, or ``None`` to use
    :func:`_csv_body` instead.

    Cells come as ``"string"`` (Arrow-backed) columns rather than Python objects: the same text,
    and parsing works on Arrow arrays without converting. Only taken when the rows are certain
    to equal the row-by-row reader's: the file is UTF-8,
    has at least two columns, ends its lines with LF or CRLF, and every line after the header
    is exactly one record (so no blank line, no quoted line break, and row ``n`` of the file is
    record ``n - 1``) with no cell over the ``csv`` field limit. Any other file, and any row
    Arrow rejects, goes the slow way, which reports the problem with its row number.
    """
    width = len(headers)
    if width < 2 or (b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n")):
        return None
    if not raw.isascii():  # ASCII is UTF-8: no text made just to check it (43 MB for NRM)
        try:
            raw.decode("utf-8-sig")  # cheap next to the parse; cp1252 files go the slow way
        except UnicodeDecodeError:
            return None
    # The body (after the header's line) as a slice of the bytes read, not a copy of them.
    start = raw.index(b"\n") + 1 if b"\n" in raw else len(raw)
    body = pa.py_buffer(raw)[start:]
    lines = raw.count(b"\n", start) + (0 if start == len(raw) or raw.endswith(b"\n") else 1)
    names = [str(i) for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: CELL_TYPE for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    if table.num_rows != lines or table.num_rows == 0:
        return None
    limit, columns = csv.field_size_limit(), {}
    # No cell starts with ' when the body has no ' at all (one scan of the bytes, 43 MB for
    # NRM, instead of one pass per column); a cell has no more characters than bytes, so its
    # characters are counted only when some cell of the column is over the limit in bytes
    # (counting them in every column cost NRM ~0.07 s at the end of the read).
    quoted = raw.find(b"'", start) >= 0
    for i, name in enumerate(names):
        column = table.column(name)
        if pc.max(pc.binary_length(column)).as_py() > limit and \
                pc.max(pc.utf8_length(column)).as_py() > limit:
            return None
        if quoted and pc.any(pc.starts_with(column, "'")).as_py():  # as _unescape, here only
            text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
            column = pa.chunked_array([pa.array(
                text.str.replace(ESCAPED_CELL, "", regex=True).to_numpy(), type=pa.string())])
        # Arrow-backed text ("string" dtype): no conversion to Python objects and back.
        columns[i] = pd.arrays.ArrowStringArray(column)
    frame = pd.DataFrame(columns)
    frame.columns = headers
    frame[ROW_COLUMN] = np.arange(2, table.num_rows + 2)
    return frame


def _unescape(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo the spreadsheet escaping this system writes (``core.csv_safety``): ``'-1.5491`` is
    read as ``-1.5491``, so a quarantine or pseudonymised CSV reads back as what it held. Only
    columns with a cell starting ``'`` are touched (the others cost one vectorised check)."""
    for position in range(frame.shape[1] - 1):  # the last column is the row number
        column = frame.iloc[:, position]
        if column.str.startswith("'").any():
            frame.isetitem(position, column.str.replace(ESCAPED_CELL, "", regex=True))
    return frame


# -- (Geo)Parquet ----------------------------------------------------------------------------
def _read_parquet(path: Path) -> tuple[list[str], pd.DataFrame]:
    import geopandas as gpd
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(path).metadata or {}
        frame = gpd.read_parquet(path) if b"geo" in metadata else pd.read_parquet(path)
    except Exception as exc:
        raise FileFormatError(path, [Problem(None, None, None, f"not a readable Parquet file: {exc}")])
    if isinstance(frame, gpd.GeoDataFrame):
        frame = _points_to_columns(path, frame)
    frame = frame.reset_index(drop=True)
    text = pd.DataFrame({c: frame[c].map(cell_text) for c in frame.columns}, dtype=object)
    headers = [str(c) for c in text.columns]
    text.columns = headers
    text[ROW_COLUMN] = range(1, len(text) + 1)
    return headers, text


def _points_to_columns(path: Path, gdf) -> pd.DataFrame:
    geom = gdf.geometry
    bad = ~(geom.geom_type.isin(["Point"]) | geom.isna())
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0]) + 1
        raise FileFormatError(path, [Problem(row, geom.name, None,
                              f"geometry must be points; found {geom[bad].iloc[0].geom_type}")])
    if gdf.crs is None:
        raise FileFormatError(path, [Problem(None, geom.name, None,
                              "the GeoParquet file has no CRS; write it with EPSG:4326 or EPSG:27700")])
    plain = pd.DataFrame(gdf.drop(columns=geom.name))
    if gdf.crs.to_epsg() == 27700:
        plain["easting"], plain["northing"] = geom.x, geom.y
    else:
        lonlat = geom.to_crs(4326)
        plain["longitude"], plain["latitude"] = lonlat.x, lonlat.y
    return plain
