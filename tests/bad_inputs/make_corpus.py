"""Write the binary and specially encoded files of the bad-input corpus.

The plain CSV cases in this folder are written by hand; this script makes the ones a text editor
cannot (UTF-16, GB18030, mixed encodings, XLSX, damaged XLSX, workbooks that hide sheets, rows
or columns or lie about their size, GeoParquet). Run it once after changing it
and commit what it writes (every output is a few KB):

    .venv/bin/python tests/bad_inputs/make_corpus.py

The 20 MB junk case is *not* committed: ``tests/test_bad_inputs.py`` calls ``write_junk`` at
test time, into a temporary folder. ``cases.yaml`` says what each file must be refused with.
"""
from __future__ import annotations

import datetime as dt
import io
import random
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
JUNK_BYTES = 20 * 2**20
JUNK_SEED = 20240229

NRM_HEADER = ["record_id", "referral_date", "exploitation_type", "age_group", "gender",
              "first_responder", "longitude", "latitude"]


def write_junk(path: Path, size: int = JUNK_BYTES, seed: int = JUNK_SEED) -> Path:
    """A file of ``size`` random-looking bytes, the same every time: an encrypted or corrupt
    export sent under a .csv name."""
    Path(path).write_bytes(random.Random(seed).randbytes(size))
    return Path(path)


def utf16_export(path: Path) -> None:
    """Excel's 'Unicode Text' export: UTF-16 LE with a BOM, tab-separated, CRLF."""
    rows = [NRM_HEADER,
            ["WY-NRM-24-0401", "04/03/2024", "labour", "adult", "male", "police", "-1.5491",
             "53.8008"],
            ["WY-NRM-24-0402", "05/03/2024", "criminal", "child", "male", "local_authority",
             "-1.7594", "53.7960"]]
    text = "".join("\t".join(r) + "\r\n" for r in rows)
    path.write_bytes(text.encode("utf-16"))  # BOM + little-endian on every platform we use


def mixed_encodings(path: Path) -> None:
    """Two exports pasted together: Word-style curly quotes as UTF-8 in one row and as
    Windows-1252 bytes in a later one (a category typed with autocorrect on)."""
    lines = [",".join(NRM_HEADER),
             "WY-NRM-24-0411,2024-03-04,labour,adult,male,police,-1.5491,53.8008",
             "WY-NRM-24-0412,2024-03-05,\u201ccriminal\u201d,child,male,local_authority,"
             "-1.7594,53.7960"]
    later = "WY-NRM-24-0413,2024-03-07,\u201csexual\u201d,adult,female,ngo,-1.4977,53.6833"
    body = ("\r\n".join(lines) + "\r\n").encode("utf-8") + (later + "\r\n").encode("cp1252")
    path.write_bytes(body)


def gb18030_export(path: Path) -> None:
    """A CSV saved by a Chinese-locale system in GB18030: neither UTF-8 nor Windows-1252 (its
    bytes can even look like UTF-8 pairs, which once gave "row 2 is UTF-8 but row 2 is not")."""
    lines = [",".join(NRM_HEADER),
             "WY-NRM-24-0621,2024-03-04,\u52b3\u5de5,adult,male,police,-1.5491,53.8008",
             "WY-NRM-24-0622,2024-03-05,criminal,child,male,local_authority,-1.7594,53.7960"]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))


def _nrm_rows(first: int, count: int, start=dt.datetime(2024, 3, 4)):
    return [[f"WY-NRM-24-{first + i:04d}", start + dt.timedelta(days=i % 20), "labour", "adult",
             "male", "police", -1.5491, 53.8008] for i in range(count)]


def _workbook(rows, hidden_columns=(), hidden_rows=(), sheets=None):
    """A workbook: ``rows`` on sheet "Referrals", or ``sheets`` = [(title, rows, state)]."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, sheet_rows, state in sheets or [("Referrals", rows, "visible")]:
        sheet = book.create_sheet(title)
        sheet.sheet_state = state
        for row in sheet_rows:
            sheet.append(row)
    sheet = book.worksheets[0]
    for letter in hidden_columns:
        sheet.column_dimensions[letter].hidden = True
    for number in hidden_rows:
        sheet.row_dimensions[number].hidden = True
    if book.worksheets[0].sheet_state != "visible":
        book.active = next(i for i, s in enumerate(book.worksheets) if s.sheet_state == "visible")
    book.properties.creator = "partner"
    buffer = io.BytesIO()
    book.save(buffer)
    return _repack(buffer.getvalue())


def _repack(xlsx: bytes, patch=None) -> bytes:
    """The same workbook with fixed timestamps, so the script writes identical bytes every run;
    ``patch(name, data) -> data`` may rewrite a part on the way."""
    stamp = "2024-04-02T09:00:00Z"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*",
                              rb"\g<1>" + stamp.encode(), data)
            if patch is not None:
                data = patch(item.filename, data)
            target.writestr(zipfile.ZipInfo(item.filename, date_time=(2024, 4, 2, 9, 0, 0)), data,
                            compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def xlsx_renamed_to_csv(path: Path) -> None:
    """A real workbook saved with a .csv name, whose date column was formatted 'General', so the
    dates are Excel serial numbers (45359 = 08/03/2024)."""
    rows = [NRM_HEADER,
            ["WY-NRM-24-0421", dt.datetime(2024, 3, 4), "labour", "adult", "male", "police",
             -1.5491, 53.8008],
            ["WY-NRM-24-0422", 45359, "criminal", "child", "male", "local_authority", -1.7594,
             53.7960]]
    path.write_bytes(_workbook(rows))


def damaged_xlsx(path: Path) -> None:
    """A workbook cut short (an interrupted download or e-mail attachment limit)."""
    rows = [NRM_HEADER] + [[f"WY-NRM-24-{430 + i:04d}", dt.datetime(2024, 3, 4 + i), "labour",
                            "adult", "male", "police", -1.5491, 53.8008] for i in range(5)]
    data = _workbook(rows)
    path.write_bytes(data[: len(data) // 2])


def hidden_dob_column(path: Path) -> None:
    """The partner *hid* the date-of-birth column in Excel, believing that removes it."""
    header = NRM_HEADER[:6] + ["DOB"] + NRM_HEADER[6:]
    rows = [header,
            ["WY-NRM-24-0441", dt.datetime(2024, 3, 4), "labour", "adult", "male", "police",
             dt.datetime(1994, 5, 12), -1.5491, 53.8008],
            ["WY-NRM-24-0442", dt.datetime(2024, 3, 5), "criminal", "child", "male",
             "local_authority", dt.datetime(2008, 11, 3), -1.7594, 53.7960]]
    path.write_bytes(_workbook(rows, hidden_columns=("G",)))


def _lying_dimension(name: str, data: bytes) -> bytes:
    """Make the first sheet's ``<dimension>`` claim A1:H2, whatever it really holds."""
    if name == "xl/worksheets/sheet1.xml":
        return re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:H2"', data)
    return data


def xlsx_dimension_hides_a_column(path: Path) -> None:
    """The sheet says it is A1:H2 but holds a Nationality column I and 100 more rows: a reader
    that trusts the tag sees one clean row and never looks at column I."""
    rows = [NRM_HEADER + ["Nationality"]] + [r + ["Albanian"] for r in _nrm_rows(701, 101)]
    data = _workbook(rows)
    path.write_bytes(_repack(data, patch=_lying_dimension))


def xlsx_dimension_hides_rows(path: Path) -> None:
    """The sheet says A1:H2 but holds 100 more rows, one of them (row 60) with an impossible
    date: a reader that trusts the tag drops 100 rows without a word."""
    rows = [NRM_HEADER] + _nrm_rows(811, 101)
    rows[59][1] = "31/02/2024"
    path.write_bytes(_repack(_workbook(rows), patch=_lying_dimension))


def xlsx_hidden_first_sheet(path: Path) -> None:
    """The first sheet (clean, hidden) is what a naive reader reads; the visible sheet the
    partner filled in holds Name, Nationality and Passport."""
    clean = [NRM_HEADER] + _nrm_rows(921, 3)
    visible = [["Name", "Nationality", "Passport"], ["A Person", "Albanian", "123456789"]]
    path.write_bytes(_workbook(None, sheets=[("Export", clean, "hidden"),
                                             ("Cases", visible, "visible")]))


def xlsx_hidden_sheet_with_data(path: Path) -> None:
    """A visible sheet and a hidden one, both holding rows: which did the partner mean?"""
    path.write_bytes(_workbook(None, sheets=[
        ("Referrals", [NRM_HEADER] + _nrm_rows(931, 2), "visible"),
        ("Old", [NRM_HEADER] + _nrm_rows(941, 2), "hidden")]))


def xlsx_two_data_sheets(path: Path) -> None:
    """Two visible sheets of referrals (March and April) and no --sheet."""
    path.write_bytes(_workbook(None, sheets=[
        ("March", [NRM_HEADER] + _nrm_rows(951, 2), "visible"),
        ("April", [NRM_HEADER] + _nrm_rows(961, 2, dt.datetime(2024, 4, 2)), "visible")]))


def xlsx_hidden_rows(path: Path) -> None:
    """Row 3 hidden (filtered out in Excel), believed not to be sent."""
    path.write_bytes(_workbook([NRM_HEADER] + _nrm_rows(971, 3), hidden_rows=(3,)))


def xlsx_hidden_column(path: Path) -> None:
    """The gender column hidden: hiding is not removing."""
    path.write_bytes(_workbook([NRM_HEADER] + _nrm_rows(981, 2), hidden_columns=("E",)))


def password_protected_xlsx(path: Path) -> None:
    """A password-protected workbook: Excel stores it as an OLE2 compound file, not a zip.

    Only the container's header is realistic (magic, byte order, sector sizes); the rest is
    padding, which is all a reader sees before it must refuse the file.
    """
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff"
              + b"\x09\x00\x06\x00" + b"\x00" * 10)
    path.write_bytes(header + bytes(4096 - len(header)))


def _nrm_frame():
    import pandas as pd

    return pd.DataFrame({
        "record_id": ["WY-NRM-24-0451", "WY-NRM-24-0452"],
        "referral_date": pd.to_datetime(["2024-03-04", "2024-03-05"]),
        "exploitation_type": ["labour", "criminal"],
        "age_group": ["adult", "child"],
        "gender": ["male", "male"],
        "first_responder": ["police", "local_authority"],
    })


def geoparquet_polygons(path: Path) -> None:
    """Each record exported with its LSOA *polygon* instead of a point."""
    import geopandas as gpd
    from shapely.geometry import Point, box

    frame = _nrm_frame()
    geometry = [Point(-1.5491, 53.8008), box(-1.770, 53.790, -1.750, 53.800)]
    gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326").to_parquet(path)


def geoparquet_without_crs(path: Path) -> None:
    """Points in BNG metres written without a CRS: the reader cannot know the units."""
    import geopandas as gpd

    frame = _nrm_frame()
    geometry = gpd.points_from_xy([429900, 416500], [433600, 432900])
    gpd.GeoDataFrame(frame, geometry=geometry, crs=None).to_parquet(path)


def geoparquet_with_nationality(path: Path) -> None:
    """A well-formed GeoParquet that also carries a forbidden column."""
    import geopandas as gpd

    frame = _nrm_frame()
    frame["nationality"] = ["Albanian", "Vietnamese"]
    geometry = gpd.points_from_xy([-1.5491, -1.7594], [53.8008, 53.7960])
    gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326").to_parquet(path)


OUTPUTS = {
    "utf16_export.csv": utf16_export,
    "mixed_encodings.csv": mixed_encodings,
    "xlsx_renamed_to_csv.csv": xlsx_renamed_to_csv,
    "damaged_truncated.xlsx": damaged_xlsx,
    "hidden_dob_column.xlsx": hidden_dob_column,
    "password_protected.xlsx": password_protected_xlsx,
    "geoparquet_polygons.parquet": geoparquet_polygons,
    "geoparquet_without_crs.parquet": geoparquet_without_crs,
    "geoparquet_with_nationality.parquet": geoparquet_with_nationality,
    "gb18030_export.csv": gb18030_export,
    "xlsx_dimension_hides_a_column.xlsx": xlsx_dimension_hides_a_column,
    "xlsx_dimension_hides_rows.xlsx": xlsx_dimension_hides_rows,
    "xlsx_hidden_first_sheet.xlsx": xlsx_hidden_first_sheet,
    "xlsx_hidden_sheet_with_data.xlsx": xlsx_hidden_sheet_with_data,
    "xlsx_two_data_sheets.xlsx": xlsx_two_data_sheets,
    "xlsx_hidden_rows.xlsx": xlsx_hidden_rows,
    "xlsx_hidden_column.xlsx": xlsx_hidden_column,
}


def main(folder: Path = HERE) -> None:
    for name, make in OUTPUTS.items():
        make(folder / name)
        print(f"wrote {name} ({(folder / name).stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
