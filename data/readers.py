"""Read a partner file into a frame of text cells, keeping the row numbers the user sees.

Every reader returns ``(headers, frame)``: ``frame`` holds one string column per header (empty
cells as "") plus ``_row``, the row number as shown in the file (the header is row 1 of a CSV or
spreadsheet; in Parquet, record 1 is row 1). Anything that is not a readable CSV (UTF-8 with or
without BOM, or Windows-1252), XLSX or (Geo)Parquet raises ``FileFormatError`` naming the file and,
where there is one, the row.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pandas as pd

from core.errors import FileFormatError, Problem

MAX_FILE_BYTES = 512 * 1024 * 1024
ROW_COLUMN = "_row"
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")
_XLSX_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # password-protected workbooks and old .xls
_HTML_START = re.compile(r"\s*<(?:!doctype\s+html|html|table)\b", re.IGNORECASE)
_PARQUET_MAGIC = b"PAR1"


def read_partner_file(path: str | Path) -> tuple[list[str], pd.DataFrame]:
    """Read a CSV, XLSX or GeoParquet partner file (chosen by content, then by extension)."""
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
        return _read_xlsx(path)
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
    text = _decode(path, raw)
    if _HTML_START.match(text[:1024]):
        raise FileFormatError(path, [Problem(None, None, None,
                              "the file is a web page (HTML), not CSV: a page saved from a "
                              "browser, or a system's 'Excel' export that is really HTML. Open it "
                              "in Excel and save it as 'CSV UTF-8'")])
    rows = csv.reader(io.StringIO(text, newline=""))
    csv.field_size_limit(1_000_000)
    try:
        headers = next(rows)
    except StopIteration:
        raise FileFormatError(path, [Problem(None, None, None, "the file has no header row")])
    except csv.Error as exc:
        raise FileFormatError(path, [Problem(1, None, None, f"the header cannot be parsed: {exc}")])
    _check_delimiter(path, headers)
    return _drop_blank_columns(headers, _csv_body(path, rows, headers))


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
    if _UTF8_MULTIBYTE.search(raw):
        # Both valid UTF-8 sequences and bytes that are not UTF-8: two encodings in one file.
        utf8_line = raw.count(b"\n", 0, _UTF8_MULTIBYTE.search(raw).start()) + 1
        raise FileFormatError(path, [Problem(bad_line, None, None,
                              f"mixed text encodings: row {utf8_line} is UTF-8 but row {bad_line} "
                              "is not. Re-save the whole file as UTF-8 CSV")])
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        raise FileFormatError(path, [Problem(bad_line, None, None,
                              "the text is neither UTF-8 nor Windows-1252: save it as UTF-8 CSV")])


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
    return frame


# -- XLSX ------------------------------------------------------------------------------------
def _read_xlsx(path: Path) -> tuple[list[str], pd.DataFrame]:
    import openpyxl  # only needed for spreadsheets

    handle = open(path, "rb")  # a file object: openpyxl would refuse a workbook named .csv
    try:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        handle.close()
        raise FileFormatError(path, [Problem(None, None, None, f"not a readable XLSX workbook: {exc}")])
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise FileFormatError(path, [Problem(None, None, None, "the first sheet is empty")])
        width = len(header)
        while width and header[width - 1] is None:
            width -= 1
        headers = ["" if h is None else str(h) for h in header[:width]]
        records, numbers = [], []
        for number, values in enumerate(rows, start=2):
            cells = [_cell_text(v) for v in values[:width]] + [""] * max(0, width - len(values))
            if any(cells):
                records.append(cells)
                numbers.append(number)
    finally:
        book.close()
        handle.close()
    frame = pd.DataFrame(records, columns=headers, dtype=object) if records else \
        pd.DataFrame(columns=headers, dtype=object)
    frame[ROW_COLUMN] = numbers
    return headers, frame


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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
    text = pd.DataFrame({c: frame[c].map(_cell_text) for c in frame.columns}, dtype=object)
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
